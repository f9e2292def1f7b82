"""The hand-over rules: is the sync's result our commit and healthy, why it failed, the run's summary."""

from __future__ import annotations

import pytest

from include.common.events import ManifestsChanged
from include.links import handover

SHA = "b" * 40
WROTE = {"app": "shop", "repo_url": "file:///r.git", "path": "apps/shop/overlays/dev", "sha": SHA,
         "sync_run_id": "links__x__bbbbbbbbbbbb__1", "subject": "deploy", "trace": {"model_version": "3", "image_digest": ""}}


@pytest.mark.parametrize(("result", "words"), [
    (None, "recorded no result"),
    ({"sha": "c" * 40, "health": "Healthy"}, "not our commit"),
    ({"sha": "", "health": "Healthy"}, "synced no recorded commit, not our commit"),
    ({"sha": SHA, "health": "Degraded", "report_dir": "/r"}, "is Degraded after the sync"),
    ({"sha": SHA}, "is Unknown"),
])
def test_sync_problem_names_what_is_wrong(result, words):
    assert words in handover.sync_problem(result, WROTE, ["Healthy"])


def test_a_healthy_sync_of_our_commit_is_no_problem():
    assert handover.sync_problem({"sha": SHA, "health": "Healthy"}, WROTE, ["Healthy"]) is None
    assert handover.sync_problem({"sha": SHA, "health": "Progressing"}, WROTE, ["Healthy", "Progressing"]) is None


def test_first_error_is_the_first_step_that_pushed_one():
    errors = [None, {"step": "validate", "error": "bad"}, {"step": "record", "error": "sync failed"}]
    assert handover.first_error(errors) == {"step": "validate", "error": "bad"}
    assert handover.first_error(None) is None and handover.first_error([None, None]) is None


def test_failure_reason_joins_the_sync_error_and_the_health_check():
    reason = handover.failure_reason(WROTE, {"sync": "failed"}, {"fetch": "success", "wait_for_health": "failed",
                                                                 "record": "failed", "apply": "success"},
                                     {"step": "health", "error": "app shop is Degraded"}, None)
    assert reason == (f"gitops_manifest_sync run {WROTE['sync_run_id']} failed in record, wait_for_health; "
                      "health: app shop is Degraded")
    checked = handover.failure_reason(WROTE, {"sync": "success", "check_health": "failed"}, {}, None, "app is Missing")
    assert checked == "app is Missing"
    assert "sync or health check failed" in handover.failure_reason(WROTE, {"sync": "success"}, {}, None, None)


@pytest.mark.parametrize(("tasks", "result", "fails"), [
    ({"rollback": {"reason": "Degraded", "revert_commit": "c"}, "check_revert": {"health": "Healthy"}}, "rolled back", True),
    ({"rollback": {"reason": "Degraded"}}, "rollback not synced", True),
    ({"check_health": {"health": "Healthy"}}, "deployed", False),
    ({}, "committed; sync left to the manifests_changed Asset", False),
])
def test_summarize_says_what_happened(tasks, result, fails):
    states = {"announce": "success" if not tasks else "skipped", "write_back": "success"}
    summary, error = handover.summarize(states, WROTE, tasks.get("check_health"), tasks.get("rollback"),
                                        tasks.get("check_revert"))
    assert summary["result"] == result and summary["write_back"]["sha"] == SHA
    assert (error is not None) is fails
    if fails:
        assert error.startswith(result) and "Degraded" in error


def test_summarize_without_a_commit():
    assert handover.summarize({"plan": "skipped"}, None, None, None, None) == (
        {"write_back": None, "sync": None, "rollback": None, "revert_sync": None, "tasks": {"plan": "skipped"},
         "result": "nothing to deploy", "failed_tasks": []}, None)
    summary, error = handover.summarize({"write_back": "failed"}, None, None, None, None)
    assert summary["result"] == "failed" and error == "failed: failed tasks: write_back"


def test_manifests_changed_is_the_typed_event_gitops_manifest_sync_reads():
    extra = handover.manifests_changed(WROTE)
    event = ManifestsChanged.from_extra(extra)
    assert (event.app, event.repo_url, event.path, event.sha) == ("shop", "file:///r.git", WROTE["path"], SHA)
    assert event.trace == {"model_version": "3"}, "empty trace ids are left out"
    assert "commit" not in extra and "revision" not in extra
