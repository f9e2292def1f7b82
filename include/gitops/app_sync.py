"""Many apps in one run: the apps ``apps.yaml`` declares at one commit, each synced by the engine.

``gitops_sync_apps`` lists the apps once (:func:`declared_apps`, the ApplicationSet generators of
:mod:`include.gitops.apps` at one exact SHA), then runs :func:`sync_one` per app as a mapped
task: render -> validate -> diff -> plan -> apply wave by wave -> prune (the app's ``prune``)
-> health -> record in the app's own history -> notifications. One app's failure is its own:
the others still sync, and the run fails at the end naming every app that did not end Healthy.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from include.gitops.apps import APPS_FILE, App, parse_apps


def declared_apps(repo_url: str, revision: str, work: Path) -> tuple[str, list[App]]:
    """(exact SHA, the apps) of ``apps.yaml`` at ``revision``; no file: no apps."""
    from include.common.git import checkout

    co = checkout(repo_url, revision, work)
    file = co.path / APPS_FILE
    folders = sorted(str(p.relative_to(co.path)) for p in co.path.rglob("*") if p.is_dir() and ".git" not in p.parts)
    text = file.read_text() if file.is_file() else None
    return co.sha, list(parse_apps(text, folders=folders, source=f"{APPS_FILE} at {co.sha[:12]}"))


@dataclass
class AppSyncResult:
    app: str
    sha: str
    result: str  # the history result: Succeeded | Failed | Degraded | Progressing ...
    health: str = ""
    applied: int = 0
    unchanged: int = 0
    pruned: int = 0
    seconds: float = 0.0
    history_id: int = 0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sync_one(cluster, app: App, repo_url: str, sha: str, work: Path, *, health_timeout: float = 60,
             wave_timeout: float = 30, run_id: str = "", say: Callable[[str], None] = print) -> AppSyncResult:
    """Sync ``app`` at ``sha`` and record it in its history (a failure too, then re-raised)."""
    from include.gitops import history, sync
    from include.gitops.health import HealthCode
    from include.gitops.notifications import deliver, notifications_for
    from include.gitops.prune import failure_message
    from include.gitops.render import render_revision
    from include.gitops.types import ResourceKey
    from include.gitops.wait import wait_healthy

    began, started_at, result = time.monotonic(), history.now(), None
    earlier = history.entries(app.name)
    entry = history.HistoryEntry(app=app.name, revision=sha, result="Failed", repo_url=repo_url, path=app.path,
                                 requested=app.revision, started_at=started_at, run_id=run_id)
    try:
        rendered = render_revision(repo_url, sha, app.path, work, release=app.name, namespace=app.namespace)
        desired = sync.prepare(rendered.objects, app=app.name, namespace=app.namespace, kinds=cluster.kinds())
        sync.check(desired, cluster)
        entry.resources = [str(ResourceKey.of(o)) for o in desired]
        done = sync.sync(cluster, app.name, desired, prune_enabled=app.prune, wave_timeout=wave_timeout)
        failure = failure_message(done.pruned)
        if failure:
            raise RuntimeError(failure)
        code, statuses = wait_healthy(cluster, [ResourceKey.of(o) for o in desired], timeout=health_timeout)
        entry.health = code.value
        entry.result = history.sync_result(error_step=None, health=code.value)
        entry.message = "; ".join(f"{k.display}: {s.message}" for k, s in statuses.items() if s.code != HealthCode.HEALTHY)
        say(f"{app.name}: {entry.result} ({code.value}), {len(done.applied)} applied, "
            f"{len(done.plan.unchanged)} unchanged, {len(done.pruned)} pruned, {time.monotonic() - began:.1f}s")
        result = AppSyncResult(app.name, sha, entry.result, code.value, len(done.applied), len(done.plan.unchanged),
                               len([r for r in done.pruned if r.action == "pruned"]), round(time.monotonic() - began, 2),
                               message=entry.message)
    except Exception as exc:
        entry.message = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        recorded = history.record(entry)
        deliver(notifications_for(recorded, earlier), say=say)
    result.history_id = recorded.id
    return result
