"""The Git watcher: an event trigger (``AssetWatcher``) that turns a push to the manifests repo
into ``manifests_changed`` events, one per automated app the push changes.

It only repeats ``include.gitops.git_watch.poll`` (the state file, the diff and the apps live
there) every ``poll_interval`` seconds and yields what it returns. A failed look (the repo is not
there yet, the Git server is down, ``apps.yaml`` is bad) is logged and retried after a doubling
pause of at most ``max_backoff`` seconds: a watcher never ends, so it must never crash either.
Two copies running at once emit a head once (the state moves by compare-and-swap).
This module is imported when DAG files are parsed, so it imports nothing heavy at the top.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent


class GitWatchTrigger(BaseEventTrigger):
    """Follow ``branch`` of ``repo_url`` and yield a ``ManifestsChanged`` extra per app to sync.

    :param repo_url: the manifests repository (file://, http(s)://, ssh://).
    :param branch: the branch to follow; apps whose ``revision`` is another branch are not followed.
    :param poll_interval: seconds between two ``git ls-remote`` looks.
    :param max_backoff: the longest pause after failed looks, in seconds.
    """

    def __init__(self, repo_url: str, branch: str = "main", poll_interval: float = 10.0,
                 max_backoff: float = 60.0) -> None:
        super().__init__()
        self.repo_url = repo_url
        self.branch = branch
        self.poll_interval = float(poll_interval)
        self.max_backoff = float(max_backoff)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("delivery.triggers.git_watch.GitWatchTrigger", {
            "repo_url": self.repo_url, "branch": self.branch, "poll_interval": self.poll_interval,
            "max_backoff": self.max_backoff})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from include.gitops.git_watch import backoff, poll

        self.log.info("following %s of %s every %.0f s", self.branch, self.repo_url, self.poll_interval)
        failures = 0
        while True:
            try:
                found = await asyncio.to_thread(poll, self.repo_url, self.branch)
            except Exception as exc:  # noqa: BLE001 (any failure is retried; the log says which)
                failures += 1
                pause = backoff(self.poll_interval, failures, self.max_backoff)
                self.log.warning("waiting for %s: look %d failed (%s); next look in %.1f s",
                                 self.repo_url, failures, exc, pause)
                await asyncio.sleep(pause)
                continue
            if failures:
                self.log.info("the repo answers again after %d failed looks", failures)
                failures = 0
            if found.message:
                self.log.info(found.message)
            for extra in found.events:
                yield TriggerEvent(extra)
            await asyncio.sleep(self.poll_interval)
