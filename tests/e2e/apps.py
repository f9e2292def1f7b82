"""A small app's manifests repo for the end-to-end flows: namespace, ConfigMap and Deployment.

``seed_app_repo(bare, namespace, name=..., cpu=...)`` writes ``apps/<name>`` (a Kustomize overlay:
``<name>-settings`` ConfigMap, ``<name>-web`` Deployment with ``maxSurge: 1, maxUnavailable: 0``
and an 8 s progress deadline) into the bare repo ``bare`` and returns the repo's head SHA.

- ``cpu="20"`` on a node of 32 CPUs: the running pod fits, a surge pod never does, so a rollout
  of a new model ends Degraded (the rollback test);
- ``cpu="100m"``: every rollout becomes Healthy (kwok runs the pods);
- ``served``: the overlay already serves that model version (as a first promotion leaves it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}-web
spec:
  replicas: 1
  progressDeadlineSeconds: 8
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  selector:
    matchLabels: {{app: {name}-web}}
  template:
    metadata:
      labels: {{app: {name}-web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27-alpine
        resources:
          requests: {{cpu: "{cpu}"}}
        envFrom:
        - configMapRef: {{name: {name}-settings}}
"""


def overlay(name: str) -> str:
    return f"apps/{name}"


def promote_conf(name: str) -> dict[str, Any]:
    """The params of mlops_promote_to_gitops that name this app's overlay, ConfigMap and Deployment."""
    return {"path": overlay(name), "configmap": f"{name}-settings", "deployment": f"{name}-web"}


def seed_app_repo(bare: Path, namespace: str, *, name: str, cpu: str, served=None) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return _seed(Path(tmp), bare, namespace, name=name, cpu=cpu, served=served)


def _seed(src: Path, bare: Path, namespace: str, *, name: str, cpu: str, served) -> str:
    from include.common.git import seed_bare_repo
    from include.links.manifests import model_changes

    folder = src / overlay(name)
    folder.mkdir(parents=True)
    (folder / "kustomization.yaml").write_text(
        f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {namespace}\n"
        "resources:\n- namespace.yaml\n- configmap.yaml\n- deployment.yaml\n")
    (folder / "namespace.yaml").write_text(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n")
    (folder / "configmap.yaml").write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}-settings}}\n"
                                           "data: {LOG_LEVEL: info}\n")
    (folder / "deployment.yaml").write_text(DEPLOYMENT.format(name=name, cpu=cpu))
    if served is not None:
        def read(rel: str):
            path = src / rel
            return path.read_text() if path.is_file() else None

        for rel, text in model_changes(read, overlay(name), served, configmap=f"{name}-settings",
                                       deployment=f"{name}-web").items():
            (src / rel).write_text(text)
    return seed_bare_repo(src, bare, f"{name} app" + (f" serving v{served.version}" if served else ""))


def register_versions(mlflow, model: str, count: int) -> None:
    """Register ``count`` versions of ``model``, each from a run of its own (an MLflow server refuses
    a file:// source that no run's artifacts contain), with the evidence the release policy checks
    (tests/release_evidence.py)."""
    from release_evidence import register_released

    register_released(mlflow, model, count)


def delete_namespace(k8s_client, name: str) -> None:
    """Delete namespace ``name`` (already gone is fine)."""
    from kubernetes import client

    try:
        client.CoreV1Api(k8s_client).delete_namespace(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
