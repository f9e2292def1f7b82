"""Sync history: one JSON line per sync (revision, resources, result, time), per app.

Rollback is a sync of an earlier revision: :func:`rollback_target` finds the revision of the
last sync before the current one that ended Healthy, and the sync renders that exact commit
again. A sync that applied but never became Healthy is recorded with its health as the result
(Degraded, Progressing ...), so it is never a rollback target.
"""

from __future__ import annotations

import fcntl
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from include.common.errors import InputError
from include.common.paths import state_dir


@dataclass
class HistoryEntry:
    app: str
    revision: str  # the exact commit SHA that was synced
    result: str  # Succeeded | Failed | Degraded | Progressing | Missing | Unknown (see sync_result)
    resources: list[str] = field(default_factory=list)
    repo_url: str = ""
    path: str = ""
    requested: str = ""  # what the user asked for (branch, tag, sha, rollback)
    started_at: str = ""
    finished_at: str = ""
    run_id: str = ""
    message: str = ""
    health: str = ""
    id: int = 0


def history_file(app: str, root: Path | None = None) -> Path:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", app or ""):
        raise InputError("app", f"{app!r} is not a valid app name", "use lower-case letters, digits and '-'")
    folder = (root or state_dir()) / "gitops" / "history"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{app}.jsonl"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def entries(app: str, root: Path | None = None) -> list[HistoryEntry]:
    path = history_file(app, root)
    if not path.exists():
        return []
    return [HistoryEntry(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def record(entry: HistoryEntry, root: Path | None = None) -> HistoryEntry:
    """Append ``entry`` (id = previous id + 1; an exclusive lock keeps ids unique)."""
    path = history_file(entry.app, root)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        lines = [line for line in fh.read().splitlines() if line.strip()]
        entry.id = (json.loads(lines[-1])["id"] + 1) if lines else 1
        entry.finished_at = entry.finished_at or now()
        fh.write(json.dumps(asdict(entry), sort_keys=True) + "\n")
    return entry


def sync_result(*, error_step: str | None, health: str, waited: bool = True) -> str:
    """The history result of a sync: ``Failed`` when a step before the health wait failed; the
    health (Degraded, Progressing ...) when the wait ended anything but Healthy; else ``Succeeded``.

    ``waited=False`` (``health_timeout: 0``, "do not wait"): only a failed step counts.
    """
    if error_step and error_step != "health":
        return "Failed"
    if error_step == "health" or (waited and health and health != "Healthy"):
        return health if health and health != "Healthy" else "Unknown"
    return "Succeeded"


def entry_for_run(state: Mapping[str, Any], *, health: Mapping[str, Any], error: Mapping[str, Any] | None,
                  run_id: str) -> HistoryEntry:
    """The history entry of one sync run, from its state, its health wait and its first failure.

    ``health`` is ``health.json`` (empty when the wait did not run); ``error`` is ``error.json``.
    """
    waited = health.get("status") not in ("not-waited", "plan-only")
    return HistoryEntry(
        app=state["app"], revision=state.get("sha", ""), resources=state.get("resources", []),
        result=sync_result(error_step=error["step"] if error else None, health=health.get("health", ""), waited=waited),
        repo_url=state["repo_url"], path=state["path"], requested="rollback" if state.get("rollback") else state["revision"],
        started_at=state.get("started_at", ""), run_id=run_id, health=health.get("health", ""),
        message=f"{error['step']}: {error['error']}" if error else health.get("message", ""),
    )


def was_healthy(entry: HistoryEntry) -> bool:
    """A sync that applied and ended Healthy: the only kind a rollback may go back to."""
    return entry.result == "Succeeded" and entry.health == "Healthy"


def rollback_target(app: str, *, to_id: int | None = None, root: Path | None = None) -> HistoryEntry:
    """The entry to roll back to: ``to_id`` if given, else the last Healthy sync whose
    revision differs from the latest Healthy one."""
    done = [e for e in entries(app, root) if was_healthy(e)]
    if to_id is not None:
        for e in done:
            if e.id == to_id:
                return e
        raise InputError("rollback_to", f"history of {app!r} has no Healthy sync with id {to_id}",
                         f"pick one of: {', '.join(str(e.id) for e in done) or 'none yet'}")
    if not done:
        raise InputError("rollback", f"app {app!r} has no Healthy sync yet", "sync a revision that becomes Healthy before rolling back")
    current = done[-1].revision
    for e in reversed(done):
        if e.revision != current:
            return e
    raise InputError("rollback", f"app {app!r} has only ever been synced at {current[:12]}",
                     "there is no earlier revision to roll back to")
