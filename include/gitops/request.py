"""The sync request: what one sync (or drift check) is asked to do, and where it came from.

One place for the defaults and one function for the precedence (:func:`resolve`), lowest first:

1. the defaults of :class:`SyncRequest` (also what a param that is missing or empty gets);
2. the run's params (UI, REST API, a triggering DAG's conf);
3. the newest triggering Asset event (``manifests_changed``, then ``cluster_drift``): its
   ``app``, ``repo_url``, ``path`` and exact commit ``sha`` (read through the contracts in
   :mod:`include.common.events`);
4. ``rollback``: the revision, path and repo of the app's last Healthy sync before the current
   one (from :mod:`include.gitops.history`).

A run that only ``cluster_drift`` triggered changes the cluster only with self-heal on; when it
is off, :func:`resolve` says why in :attr:`Resolution.skip` and the caller skips the run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from include.common.errors import InputError
from include.common.events import ClusterDrift, ManifestsChanged
from include.gitops.demo import DEMO_APP, DEMO_PATH

MANIFESTS_CHANGED, CLUSTER_DRIFT = ManifestsChanged.asset, ClusterDrift.asset
IGNORE_EXAMPLE = '[{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]'


@dataclass
class SyncRequest:
    """The resolved request; ``as_state()`` starts the run's state (``state.json``)."""

    app: str = DEMO_APP
    repo_url: str = ""  # empty: the demo manifests repo, seeded on demand
    path: str = DEMO_PATH  # "" is the repo's root, not "use the default"
    revision: str = "main"
    namespace: str = "default"
    prune: bool = False
    self_heal: bool = False
    dry_run: bool = False
    force: bool = False
    health_timeout: float = 120.0
    progressing_ok: bool = False
    wave_timeout: float = 30.0
    ignore_differences: list[Any] = field(default_factory=list)
    respect_ignore_differences: bool = False
    kubernetes_conn_id: str = "kubernetes_default"
    kubeconfig: str = ""
    rollback: bool = False
    triggered_by: str = "manual"
    started_at: str = ""
    report_dir: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SyncRequest:
        """Params over the defaults: a param that is missing, None or empty keeps the default
        (except ``path``, where "" is the repo's root); numbers and flags get their type."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            value = params.get(f.name)
            if value is None or (f.name != "path" and not isinstance(value, (bool, int, float)) and not value):
                continue
            if isinstance(f.default, (bool, float)):
                value = type(f.default)(value)
            values[f.name] = value
        return cls(**values)

    def as_state(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Resolution:
    """What :func:`resolve` decided: the request, or why the run changes nothing (``skip``).

    ``notes`` are the decisions a person should see in the task log (demo repo, rollback target).
    """

    request: SyncRequest
    skip: str = ""
    notes: list[str] = field(default_factory=list)


def _declared_app(request: SyncRequest):
    """The app's entry in ``apps.yaml`` at the revision to sync, or None (no repo known yet, no
    file, not declared there)."""
    if not request.repo_url or not request.revision:
        return None
    import tempfile
    from pathlib import Path

    from include.common.git import GitError
    from include.gitops.app_sync import declared_apps

    try:
        with tempfile.TemporaryDirectory(prefix="apps-") as tmp:
            _, apps = declared_apps(request.repo_url, request.revision, Path(tmp) / "repo")
    except (InputError, GitError):  # an unreadable repo fails the render step, with its own message
        return None
    return next((a for a in apps if a.name == request.app), None)


def _apply_events(request: SyncRequest, events: Mapping[str, list[dict[str, Any]]]) -> str:
    """Let the newest event override the params; return the self-heal skip reason ("" to go on)."""
    request.triggered_by = ", ".join(sorted(events))
    changed = [ManifestsChanged.from_extra(e) for e in events.get(MANIFESTS_CHANGED, [])]
    drifts = [ClusterDrift.from_extra(e) for e in events.get(CLUSTER_DRIFT, [])]
    for newest in (changed + drifts)[-1:]:
        # a cluster watch event of an app never synced here knows no repo: the params say which
        request.app = newest.app
        if newest.repo_url:
            request.repo_url, request.path = newest.repo_url, newest.path
        request.revision = newest.sha or request.revision
        if isinstance(newest, ManifestsChanged):  # the app's settings from apps.yaml (the Git watcher)
            for setting in ("namespace", "prune", "self_heal"):
                if getattr(newest, setting) is not None:
                    setattr(request, setting, getattr(newest, setting))
    if set(events) != {CLUSTER_DRIFT}:
        return ""
    declared = _declared_app(request)
    if declared is not None:  # the app's own settings from apps.yaml at the synced commit
        request.namespace, request.prune = declared.namespace, declared.prune
        request.self_heal = request.self_heal or declared.self_heal
    if not (request.self_heal or any(d.self_heal for d in drifts)):
        return (f"cluster_drift reported drift for app {request.app!r}, but self-heal is off: nothing is changed. "
                "Turn it on with self_heal: true for the app in apps.yaml, the param self_heal=true, or "
                "self_heal=true in gitops_drift_check.")
    request.self_heal = True
    request.force = True  # undoing a hand edit means taking back the fields the editor now owns
    return ""


def resolve(params: Mapping[str, Any], events: Mapping[str, list[dict[str, Any]]], *, report_dir: str = "") -> Resolution:
    """The run's request from params, the triggering events (by Asset name) and the history.

    Raises ``InputError`` (before anything else runs) for a bad repo URL, revision, ignore rule
    or rollback without a Healthy sync to go back to.
    """
    from include.common.git import validate_ref, validate_repo_url
    from include.gitops import demo, history
    from include.gitops.ignore import parse_rules

    request = SyncRequest.from_params(params)
    out = Resolution(request)
    if events:
        out.skip = _apply_events(request, events)
        if out.skip:
            return out
    if not request.repo_url:
        request.repo_url = demo.seed()["repo_url"]
        out.notes.append(f"repo_url not given: using the demo manifests repo {request.repo_url}")
    validate_repo_url(request.repo_url, "repo_url")
    if request.rollback:
        target = history.rollback_target(request.app)
        out.notes.append(f"rollback: app {request.app!r} goes back to sync #{target.id}, revision {target.revision[:12]} "
                         f"(synced {target.finished_at})")
        request.revision = target.revision
        request.path = target.path or request.path
        request.repo_url = target.repo_url or request.repo_url
    validate_ref(request.revision, "revision")
    if not isinstance(request.ignore_differences, list):
        raise InputError("ignore_differences", "must be a list of rules", f"e.g. {IGNORE_EXAMPLE}")
    parse_rules(request.ignore_differences)  # bad rules fail here, before anything else
    request.started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    request.report_dir = report_dir
    return out
