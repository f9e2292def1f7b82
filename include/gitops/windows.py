"""Sync windows, as Argo CD's: when syncs may (``allow``) or may not (``deny``) change the cluster.

A window is a cron ``schedule`` (when it opens, UTC) and a ``duration`` (``30m``, ``8h``,
``1h30m``). It is active from each time the schedule fires until the duration has passed:

- an active ``deny`` window blocks syncs;
- when ``allow`` windows exist, a sync runs only while one of them is active;
- ``manual_sync: true`` on the blocking window lets a manual run through (Argo CD's
  ``manualSync``), and a run with ``override_sync_window=true`` always goes through.

:func:`verdict` says whether a sync may run now, why not, and when it next may (the sync waits
until then when an event triggered it; a manual run is refused at once, naming the window).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from include.common.errors import InputError

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")
EXAMPLE = '[{"kind": "deny", "schedule": "0 22 * * *", "duration": "8h"}]'


@dataclass(frozen=True)
class SyncWindow:
    kind: str  # allow | deny
    schedule: str
    duration: timedelta
    manual_sync: bool = False

    def describe(self) -> str:
        return f"{self.kind} window '{self.schedule}' for {self.duration}"

    def active_since(self, now: datetime) -> datetime | None:
        """When the occurrence that covers ``now`` began, or None when the window is not active."""
        from croniter import croniter  # Airflow's own cron library

        began = croniter(self.schedule, now + timedelta(seconds=1)).get_prev(datetime)
        return began if now < began + self.duration else None

    def next_start(self, now: datetime) -> datetime:
        from croniter import croniter

        return croniter(self.schedule, now).get_next(datetime)


def parse_windows(data: list[dict[str, Any]] | None, what: str = "sync_windows") -> list[SyncWindow]:
    from croniter import croniter

    windows = []
    for i, item in enumerate(data or []):
        where = f"{what}[{i}]"
        if not isinstance(item, dict) or item.get("kind") not in ("allow", "deny"):
            raise InputError(where, f"{item!r} has no kind allow or deny", f"e.g. {EXAMPLE}")
        schedule = str(item.get("schedule", ""))
        if not croniter.is_valid(schedule):
            raise InputError(where, f"schedule {schedule!r} is not a cron expression", "e.g. \"0 22 * * *\" (22:00 UTC daily)")
        match = _DURATION.match(str(item.get("duration", "")).strip())
        if not match or not any(match.groups()):
            raise InputError(where, f"duration {item.get('duration')!r} is not like 30m, 8h or 1h30m", "write hours and minutes: 1h30m")
        hours, minutes = (int(g or 0) for g in match.groups())
        windows.append(SyncWindow(item["kind"], schedule, timedelta(hours=hours, minutes=minutes),
                                  bool(item.get("manual_sync", False))))
    return windows


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    opens_at: datetime | None = None  # when it may sync next (None: allowed now, or unknown)


def verdict(windows: list[SyncWindow], *, manual: bool, override: bool = False, now: datetime | None = None) -> Verdict:
    """May a sync run now? Deny wins over allow, as in Argo CD."""
    now = now or datetime.now(timezone.utc)
    if not windows or override:
        return Verdict(True, "sync window override" if windows and override else "")
    denying = [(w, w.active_since(now)) for w in windows if w.kind == "deny"]
    denying = [(w, since) for w, since in denying if since is not None]
    allows = [w for w in windows if w.kind == "allow"]
    open_allow = [w for w in allows if w.active_since(now) is not None]
    blockers = [w for w, _ in denying] + ([] if open_allow or not allows else allows)
    if not blockers:
        return Verdict(True)
    if manual and all(w.manual_sync for w in blockers):
        return Verdict(True, f"manual sync allowed by {', '.join(w.describe() for w in blockers)}")
    if denying:
        opens = max(since + w.duration for w, since in denying)
        if allows and not any(w.active_since(opens) for w in allows):
            opens = min(w.next_start(opens) for w in allows)
        reason = f"blocked by the active {', '.join(w.describe() for w, _ in denying)}"
    else:
        opens = min(w.next_start(now) for w in allows)
        reason = f"outside every allow window ({', '.join(w.describe() for w in allows)})"
    return Verdict(False, f"{reason}; the next sync may run at {opens.isoformat(timespec='minutes')}", opens)
