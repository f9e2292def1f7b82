"""Notifications of a sync, named as Argo CD Notifications' triggers.

- ``on-deployed``: the sync ended Synced and Healthy, once per revision (not again while the same
  revision stays the last Healthy one; a rollback to an older revision notifies again, as Argo
  CD's ``oncePer: app.status.sync.revision`` does);
- ``on-health-degraded``: the sync applied, and the app ended Degraded;
- ``on-sync-failed``: a step before the health wait failed (nothing or only part was applied).

:func:`notifications_for` decides from the app's history; :func:`deliver` writes each to the task
log, appends it to ``$DELIVERY_STATE/gitops/notifications.jsonl`` and POSTs it as JSON to each
webhook URL. A webhook that does not answer is logged loudly and recorded in the file, but does
not fail the sync: the cluster already is what the history says.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from include.common.paths import state_dir
from include.gitops.history import HistoryEntry, now, was_healthy

ON_DEPLOYED, ON_HEALTH_DEGRADED, ON_SYNC_FAILED = "on-deployed", "on-health-degraded", "on-sync-failed"


@dataclass(frozen=True)
class Notification:
    """One notification; its JSON (``asdict``) is what a webhook receives: the trigger, a readable
    message, when, and the history entry of the sync (app, revision, result, health, run id ...)."""

    trigger: str
    message: str
    entry: HistoryEntry
    at: str = ""


def notifications_for(entry: HistoryEntry, earlier: Iterable[HistoryEntry]) -> list[Notification]:
    """What ``entry`` (just recorded) notifies, given the app's ``earlier`` history entries."""
    where = f"{entry.app!r} at {entry.revision[:12] or '?'} ({entry.repo_url} {entry.path})"
    if entry.result == "Failed":
        trigger, message = ON_SYNC_FAILED, f"sync of {where} failed: {entry.message}. Fix the cause, then sync again"
    elif entry.health == "Degraded" or entry.result == "Degraded":
        trigger, message = ON_HEALTH_DEGRADED, (f"{where} is Degraded after the sync: {entry.message}. "
                                                "Roll back (rollback=true) or fix the manifests")
    elif was_healthy(entry):
        last = [e for e in earlier if was_healthy(e)][-1:]
        if last and last[0].revision == entry.revision:
            return []  # already notified for this revision
        trigger, message = ON_DEPLOYED, f"{where} is deployed: Synced and Healthy"
    else:
        return []  # Progressing (progressing_ok) or plan-only: nothing settled to tell
    return [Notification(trigger=trigger, message=message, entry=entry, at=now())]


def log_file(root: Path | None = None) -> Path:
    return (root or state_dir()) / "gitops" / "notifications.jsonl"


def post_webhook(url: str, note: Notification, timeout: float = 10.0) -> None:
    body = json.dumps(asdict(note)).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def deliver(notes: list[Notification], *, webhooks: Iterable[str] = (), say: Callable[[str], None] = print,
            root: Path | None = None) -> list[dict]:
    """Send ``notes``: log line, notifications.jsonl, and a POST to each webhook. Returns the records written."""
    records = []
    path = log_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    for note in notes:
        say(f"notification {note.trigger}: {note.message}")
        failed = {}
        for url in webhooks:
            try:
                post_webhook(url, note)
            except Exception as exc:  # noqa: BLE001 - any delivery failure is reported, never fatal
                failed[url] = f"{type(exc).__name__}: {exc}"
                say(f"WARNING: notification {note.trigger} was not delivered to {url}: {failed[url]}")
        record = {**asdict(note), "webhooks": list(webhooks), "failed": failed}
        with open(path, "a") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
        records.append(record)
    return records
