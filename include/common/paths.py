"""Where the project and its run state live.

Everything a run writes (Airflow home, MLflow store, Optuna studies, demo Git repos, reports,
built tools) goes below one state folder: ``$DELIVERY_STATE``, by default ``<project>/.state``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def state_dir() -> Path:
    """The state folder (``$DELIVERY_STATE`` or ``<project>/.state``), created on first use."""
    path = Path(os.environ.get("DELIVERY_STATE") or PROJECT_ROOT / ".state")
    path.mkdir(parents=True, exist_ok=True)
    return path


def report_dir(dag_id: str, run_id: str) -> Path:
    """The folder for one DAG run's reports: ``<state>/reports/<dag_id>/<run_id>/``.

    Run ids contain ``:`` and ``+`` (``manual__2026-11-26T10:00:00+00:00``); they are kept
    readable but made safe for every file system.
    """
    safe_run = re.sub(r"[^A-Za-z0-9._-]", "_", run_id)
    path = state_dir() / "reports" / dag_id / safe_run
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_repo_url(name: str) -> str:
    """The URL the pipelines fetch demo repo ``name`` (``app``, ``manifests``) from.

    The demo repos are bare repos in ``<state>/repos/<name>.git``. Where a Git server serves that
    folder (the compose ``git`` service, the native stack), ``$DELIVERY_GIT_BASE_URL`` names it and
    the pipelines clone and push over HTTP as from a Git host: ``<base>/<name>.git``. Without it,
    ``file://<state>/repos/<name>.git``.
    """
    base = os.environ.get("DELIVERY_GIT_BASE_URL", "").rstrip("/")
    if base:
        return f"{base}/{name}.git"
    return f"file://{state_dir() / 'repos' / f'{name}.git'}"


def demo_inputs_dir() -> Path:
    """The demo inputs that ship with the project (sample app, manifests, data)."""
    return PROJECT_ROOT / "include" / "demo"


def tools_dir() -> Path:
    """Built tool binaries (kube-apiserver, etcd, kustomize, helm...): ``$DELIVERY_TOOLS``.

    Default ``<project>/.state/tools``; tests keep this one even though they use their own state
    folder, so the binaries are built once.
    """
    return Path(os.environ.get("DELIVERY_TOOLS") or PROJECT_ROOT / ".state" / "tools")
