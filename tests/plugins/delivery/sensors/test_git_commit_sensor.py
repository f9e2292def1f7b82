"""GitCommitSensor: succeeds at once on a new tip, defers otherwise, and turns events into outcomes."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException, TaskDeferred

from delivery.sensors.git_commit import GitCommitSensor
from delivery.triggers.git_commit import GitCommitTrigger
from include.cicd import watch
from include.common.git import seed_bare_repo


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("one\n")
    sha = seed_bare_repo(src, tmp_path / "r.git", "first")
    return f"file://{tmp_path / 'r.git'}", sha


def sensor(url, **kw):
    return GitCommitSensor(task_id="wait", repo_url=url, branch="main", wait_timeout=30, poll_interval=1, deferrable=True, **kw)


def test_new_tip_returns_its_sha_without_deferring(repo):
    url, sha = repo
    assert sensor(url).execute({}) == sha


def test_known_tip_defers_with_a_serializable_trigger(repo):
    url, sha = repo
    watch.record_sha(url, "main", sha)
    with pytest.raises(TaskDeferred) as deferred:
        sensor(url).execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, GitCommitTrigger) and trigger.known_sha == sha and trigger.timeout == 30
    assert deferred.value.method_name == "execute_complete"


def test_events_become_outcomes(repo):
    url, _ = repo
    s = sensor(url)
    assert s.execute_complete({}, {"status": "success", "sha": "b" * 40, "message": "new"}) == "b" * 40
    with pytest.raises(AirflowSkipException):
        s.execute_complete({}, {"status": "timeout", "message": "no new commit"})
    with pytest.raises(AirflowFailException, match="boom"):
        s.execute_complete({}, {"status": "error", "message": "boom"})


def test_missing_branch_fails_clearly(repo):
    url, _ = repo
    s = GitCommitSensor(task_id="wait", repo_url=url, branch="nope", deferrable=True)
    with pytest.raises(AirflowFailException, match="'nope' does not exist"):
        s.execute({})
