"""Sync windows: deny wins, allow windows gate, manual override, and when the sync may run next."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from include.common.errors import InputError
from include.gitops.windows import parse_windows, verdict

NIGHT = {"kind": "deny", "schedule": "0 22 * * *", "duration": "8h"}  # 22:00-06:00 UTC
OFFICE = {"kind": "allow", "schedule": "0 9 * * 1-5", "duration": "8h"}  # weekdays 09:00-17:00 UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_deny_window_blocks_until_it_closes_and_names_itself() -> None:
    windows = parse_windows([NIGHT])
    v = verdict(windows, manual=False, now=at("2026-12-02T23:30"))
    assert not v.allowed and v.opens_at == at("2026-12-03T06:00")
    assert "deny window '0 22 * * *' for 8:00:00" in v.reason and "2026-12-03T06:00" in v.reason
    assert verdict(windows, manual=False, now=at("2026-12-02T12:00")).allowed
    assert verdict(windows, manual=False, now=at("2026-12-03T05:59")).allowed is False
    assert verdict(windows, manual=False, now=at("2026-12-03T06:00")).allowed


def test_allow_windows_gate_and_deny_wins_inside_them() -> None:
    windows = parse_windows([OFFICE])
    assert verdict(windows, manual=False, now=at("2026-12-02T10:00")).allowed  # a Wednesday
    saturday = verdict(windows, manual=False, now=at("2026-12-05T10:00"))
    assert not saturday.allowed and saturday.opens_at == at("2026-12-07T09:00")
    lunch = parse_windows([OFFICE, {"kind": "deny", "schedule": "0 12 * * *", "duration": "1h"}])
    v = verdict(lunch, manual=False, now=at("2026-12-02T12:30"))
    assert not v.allowed and v.opens_at == at("2026-12-02T13:00")


def test_manual_sync_and_override() -> None:
    strict = parse_windows([NIGHT])
    assert not verdict(strict, manual=True, now=at("2026-12-02T23:00")).allowed
    assert verdict(strict, manual=True, override=True, now=at("2026-12-02T23:00")).allowed
    lenient = parse_windows([{**NIGHT, "manual_sync": True}])
    assert verdict(lenient, manual=True, now=at("2026-12-02T23:00")).allowed
    assert not verdict(lenient, manual=False, now=at("2026-12-02T23:00")).allowed


@pytest.mark.parametrize("bad, says", [
    ({"kind": "sometimes", "schedule": "0 1 * * *", "duration": "1h"}, "allow or deny"),
    ({"kind": "deny", "schedule": "at night", "duration": "1h"}, "not a cron expression"),
    ({"kind": "deny", "schedule": "0 1 * * *", "duration": "an hour"}, "30m, 8h or 1h30m"),
])
def test_bad_windows_name_the_entry_and_the_fix(bad, says) -> None:
    with pytest.raises(InputError, match=says) as info:
        parse_windows([NIGHT, bad])
    assert "sync_windows[1]" in str(info.value)
