"""Benchmark of the Git watcher: push -> event, and push -> the sync's first task on a real Airflow.

1. In process, on a file:// repo in a temporary state folder: the GitWatchTrigger's ``run()``
   with the default interval; the time of one idle look (``git ls-remote``) and of one look that
   finds a push (fetch, apps.yaml, diff); push -> event over 3 pushes; events in 3 idle intervals
   (target 0).
2. On ``airflow standalone`` (temporary home, free port, the same state folder): a push to the demo
   manifests repo -> the asset-triggered ``gitops_manifest_sync`` run -> its first task starts
   (tests/e2e/git_watch.py). Target <= 30 s.

Usage: ``source scripts/env.sh && python bench/bench_git_watch.py [--no-airflow]``. Nothing is asserted.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(tempfile.mkdtemp(prefix="bench-git-watch-"))
os.environ["DELIVERY_STATE"] = str(STATE / "state")  # before any project import reads it
for p in (str(ROOT / "tests"), str(ROOT / "plugins"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)


def in_process(pushes: int = 3) -> dict:
    from delivery.assets import manifests_changed
    from include.common.git import commit_files
    from include.gitops import demo, git_watch

    url = demo.seed()["repo_url"]
    trigger = manifests_changed.watchers[0].trigger  # the watcher as the DAGs declare it
    t0 = time.perf_counter()
    git_watch.poll(url, "main")  # the baseline
    idle_look = time.perf_counter() - t0
    timings, idle_events = [], []

    async def main():
        events: list[dict] = []

        async def collect():
            async for event in trigger.run():
                events.append(event.payload)

        task = asyncio.create_task(collect())
        await asyncio.sleep(3 * trigger.poll_interval)
        idle_events.append(len(events))
        for n in range(pushes):
            await asyncio.sleep(random.uniform(0, trigger.poll_interval))  # a push lands anywhere in an interval
            before = len(events)
            await asyncio.to_thread(commit_files, url, "main", {f"{demo.DEMO_PATH}/bench-{n}.txt": f"{n}\n"}, "bench push")
            pushed = time.perf_counter()
            while len(events) == before:
                await asyncio.sleep(0.02)
            timings.append(time.perf_counter() - pushed)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    commit_files(url, "main", {f"{demo.DEMO_PATH}/bench-look.txt": "x\n"}, "bench push")
    t1 = time.perf_counter()
    found = git_watch.poll(url, "main")
    return {"interval": trigger.poll_interval, "idle_look_s": idle_look, "change_look_s": time.perf_counter() - t1,
            "changed_apps": [e["app"] for e in found.events], "push_to_event_s": timings, "idle_events": idle_events[0]}


def on_airflow() -> dict:
    from e2e.airflow_api import start_standalone
    from e2e.git_watch import push_reaches_sync

    t0 = time.perf_counter()
    api = start_standalone(STATE / "airflow")
    try:
        started = time.perf_counter() - t0
        return {"airflow_start_s": started, **push_reaches_sync(api)}
    finally:
        api.stop()


def main() -> int:
    local = in_process()
    times = local["push_to_event_s"]
    print("bench_git_watch")
    print(f"  watcher interval {local['interval']:.0f} s; one idle look {local['idle_look_s'] * 1000:.0f} ms, "
          f"one look that finds a push {local['change_look_s'] * 1000:.0f} ms (apps: {local['changed_apps']})")
    print(f"  push -> event, {len(times)} pushes: median {statistics.median(times):.1f} s, max {max(times):.1f} s "
          f"(at most one interval plus one look)")
    print(f"  events in 3 idle intervals: {local['idle_events']}   (target 0)")
    if "--no-airflow" in sys.argv:
        return 0
    found = on_airflow()
    print(f"  airflow standalone started in {found['airflow_start_s']:.0f} s; the watcher took its baseline "
          f"{found['watcher_start_s']:.0f} s after the unpause (at the next parse of the DAG files)")
    print(f"  push -> asset-triggered sync run: {found['push_to_run_s']:.1f} s")
    print(f"  push -> sync's first task starts: {found['push_to_first_task_s']:.1f} s   (target <= 30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
