"""GitCommitTrigger: serializes every argument, yields exactly one event, keeps its deadline."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from delivery.triggers.git_commit import GitCommitTrigger
from include.common.git import commit_files, seed_bare_repo


@pytest.fixture()
def repo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("one\n")
    sha = seed_bare_repo(src, tmp_path / "r.git", "first")
    return f"file://{tmp_path / 'r.git'}", sha


def _events(trigger, limit=5.0):
    async def collect():
        out = []
        async for event in trigger.run():
            out.append(event.payload)
        return out
    return asyncio.run(asyncio.wait_for(collect(), timeout=limit))


def test_serialize_round_trip():
    trigger = GitCommitTrigger(repo_url="file:///r.git", branch="main", known_sha="a" * 40,
                               start_time="2026-11-26T10:00:00+00:00", timeout=30, poll_interval=2)
    path, kwargs = trigger.serialize()
    assert path == "delivery.triggers.git_commit.GitCommitTrigger"
    again = GitCommitTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert set(kwargs) == {"repo_url", "branch", "known_sha", "start_time", "timeout", "poll_interval"}


def test_new_commit_yields_one_success_event(repo):
    url, sha = repo
    [event] = _events(GitCommitTrigger(url, "main", None, datetime.now(timezone.utc).isoformat(), 10, 0.1))
    assert event["status"] == "success" and event["sha"] == sha


def test_deadline_counts_from_the_serialized_start(repo):
    url, sha = repo
    old_start = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    [event] = _events(GitCommitTrigger(url, "main", sha, old_start, 60, 0.1))
    assert event["status"] == "timeout" and "no new commit" in event["message"]


def test_commit_pushed_while_waiting_is_noticed(repo):
    url, sha = repo
    trigger = GitCommitTrigger(url, "main", sha, datetime.now(timezone.utc).isoformat(), 20, 0.2)

    async def scenario():
        task = asyncio.ensure_future(_first(trigger))
        await asyncio.sleep(0.5)
        new = await asyncio.to_thread(commit_files, url, "main", {"a.txt": "two\n"}, "second")
        return new, await task

    async def _first(t):
        async for event in t.run():
            return event.payload

    new, event = asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert event["status"] == "success" and event["sha"] == new != sha


def test_missing_branch_is_an_error_event(repo):
    url, _ = repo
    [event] = _events(GitCommitTrigger(url, "nope", None, datetime.now(timezone.utc).isoformat(), 5, 0.1))
    assert event["status"] == "error" and "does not exist" in event["message"]
