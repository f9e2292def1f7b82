from __future__ import annotations

from pathlib import Path

import pytest

from include.common.errors import InputError
from include.gitops.history import HistoryEntry, entries, record, rollback_target, sync_result


def test_record_and_rollback(tmp_path: Path) -> None:
    for rev, result in (("a" * 40, "Succeeded"), ("b" * 40, "Succeeded"), ("c" * 40, "Failed"), ("b" * 40, "Succeeded")):
        record(HistoryEntry(app="shop", revision=rev, result=result, health="Healthy", resources=["/v1/ConfigMap/demo/x"]),
               root=tmp_path)
    items = entries("shop", root=tmp_path)
    assert [e.id for e in items] == [1, 2, 3, 4]
    assert items[0].finished_at
    # current is b (id 4); the failed c is never a target; previous different revision is a
    assert rollback_target("shop", root=tmp_path).revision == "a" * 40
    assert rollback_target("shop", to_id=2, root=tmp_path).revision == "b" * 40
    with pytest.raises(InputError, match="no Healthy sync with id 3"):
        rollback_target("shop", to_id=3, root=tmp_path)


def test_rollback_skips_syncs_that_never_became_healthy(tmp_path: Path) -> None:
    """An applied revision whose health wait ended Degraded or still Progressing is no target."""
    for rev, result, health in (("a" * 40, "Succeeded", "Healthy"), ("b" * 40, "Degraded", "Degraded"),
                                ("d" * 40, "Progressing", "Progressing"), ("e" * 40, "Succeeded", "Healthy")):
        record(HistoryEntry(app="shop", revision=rev, result=result, health=health), root=tmp_path)
    assert rollback_target("shop", root=tmp_path).revision == "a" * 40
    with pytest.raises(InputError, match="no Healthy sync with id 2"):
        rollback_target("shop", to_id=2, root=tmp_path)


@pytest.mark.parametrize(("error_step", "health", "waited", "expected"), [
    (None, "Healthy", True, "Succeeded"),
    ("apply", "", True, "Failed"),
    ("prune", "Healthy", True, "Failed"),
    ("health", "Degraded", True, "Degraded"),
    ("health", "Progressing", True, "Progressing"),
    (None, "Progressing", True, "Progressing"),  # progressing_ok: a green run, but not a rollback target
    (None, "Progressing", False, "Succeeded"),  # health_timeout 0: not waited for
    ("health", "", True, "Unknown"),
])
def test_sync_result(error_step, health, waited, expected) -> None:
    assert sync_result(error_step=error_step, health=health, waited=waited) == expected


def test_rollback_without_history(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no Healthy sync yet"):
        rollback_target("shop", root=tmp_path)
    record(HistoryEntry(app="shop", revision="a" * 40, result="Succeeded", health="Healthy"), root=tmp_path)
    with pytest.raises(InputError, match="no earlier revision"):
        rollback_target("shop", root=tmp_path)


def test_bad_app_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="app"):
        entries("../etc", root=tmp_path)


def test_entry_for_run() -> None:
    from include.gitops.history import entry_for_run

    state = {"app": "shop", "sha": "a" * 40, "repo_url": "file:///m.git", "path": "apps/shop", "revision": "main",
             "resources": ["/v1/ConfigMap/demo/x"], "started_at": "t0"}
    ok = entry_for_run(state, health={"status": "healthy", "health": "Healthy", "message": "ok"}, error=None, run_id="r1")
    assert (ok.result, ok.revision, ok.requested, ok.health, ok.message, ok.run_id) == (
        "Succeeded", "a" * 40, "main", "Healthy", "ok", "r1")
    failed = entry_for_run({**state, "rollback": True}, health={}, error={"step": "apply", "error": "boom"}, run_id="r2")
    assert (failed.result, failed.requested, failed.message) == ("Failed", "rollback", "apply: boom")
    not_waited = entry_for_run(state, health={"status": "not-waited", "health": "Progressing"}, error=None, run_id="r3")
    assert not_waited.result == "Succeeded"
