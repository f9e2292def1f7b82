"""A trigger that fires when a Git branch's tip differs from a known commit (git ls-remote)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class GitCommitTrigger(BaseTrigger):
    """Poll ``git ls-remote <repo_url> refs/heads/<branch>`` until the tip is not ``known_sha``.

    Yields exactly one event: ``{"status": "success", "sha", "repo_url", "branch"}`` on a new commit,
    ``{"status": "timeout", ...}`` when ``start_time + timeout`` has passed (the start time is
    serialized, so a restarted trigger keeps the same deadline), or ``{"status": "error",
    "message"}`` when git fails. It only reads, so two copies running at once are harmless.

    :param repo_url: repository URL (validated by the sensor before deferring).
    :param branch: branch name.
    :param known_sha: the commit already handled (None: any tip is new).
    :param start_time: ISO timestamp the deadline counts from.
    :param timeout: seconds after ``start_time`` to give up.
    :param poll_interval: seconds between polls.
    """

    def __init__(self, repo_url: str, branch: str, known_sha: str | None, start_time: str, timeout: float,
                 poll_interval: float = 5.0) -> None:
        super().__init__()
        self.repo_url = repo_url
        self.branch = branch
        self.known_sha = known_sha
        self.start_time = start_time
        self.timeout = float(timeout)
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("delivery.triggers.git_commit.GitCommitTrigger", {
            "repo_url": self.repo_url, "branch": self.branch, "known_sha": self.known_sha, "start_time": self.start_time,
            "timeout": self.timeout, "poll_interval": self.poll_interval})

    async def _tip(self) -> str:
        from include.cicd.watch import ls_remote_args, parse_ls_remote
        from include.common.git import GIT_ENV

        proc = await asyncio.create_subprocess_exec(
            "git", *ls_remote_args(self.repo_url, self.branch), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, **GIT_ENV})
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"git ls-remote {self.repo_url} failed: {err.decode().strip()}")
        return parse_ls_remote(out.decode(), self.repo_url, self.branch)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        deadline = datetime.fromisoformat(self.start_time) + timedelta(seconds=self.timeout)
        base = {"repo_url": self.repo_url, "branch": self.branch}
        while True:
            try:
                tip = await self._tip()
            except Exception as exc:  # one event, then stop: the sensor turns it into a clear failure
                yield TriggerEvent({**base, "status": "error", "message": str(exc)})
                return
            if tip != self.known_sha:
                yield TriggerEvent({**base, "status": "success", "sha": tip, "message": f"new commit {tip} on {self.branch}"})
                return
            if datetime.now(timezone.utc) >= deadline:
                yield TriggerEvent({**base, "status": "timeout", "sha": tip,
                                    "message": f"no new commit on {self.branch} within {self.timeout:.0f} s (tip {tip})"})
                return
            await asyncio.sleep(self.poll_interval)
