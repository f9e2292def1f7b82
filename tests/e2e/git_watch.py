"""A person's push to the demo manifests repo, followed until the sync's first task starts.

Used by tests/e2e/test_git_watch_rest.py and bench/bench_git_watch.py. Nobody triggers a run:
the Git watcher of ``manifests_changed`` (running in the triggerer) sees the push, the scheduler
makes the asset-triggered run of ``gitops_manifest_sync``, an executor starts ``fetch``.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from e2e.airflow_api import AirflowAPI
from e2e.flow import SYNC, ts


def _wait(check, timeout: float, what: str, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f} s")
        time.sleep(poll)
    return found


def _watching(api: AirflowAPI, url: str) -> bool:
    assets = api.get("/api/v2/assets", name_pattern="manifests_changed")["assets"]
    registered = any(a["name"] == "manifests_changed" and a.get("watchers") for a in assets)
    log = api.log_path.read_text(errors="replace") if api.log_path and api.log_path.exists() else ""
    return registered and f"following main of {url}" in log


def push_reaches_sync(api: AirflowAPI, timeout: float = 300) -> dict[str, Any]:
    """Push to the demo repo's ``shop`` overlay; the run it started, its event and the times in s."""
    from include.common.git import commit_files, resolve
    from include.gitops import demo
    from include.gitops.git_watch import last_seen

    url = demo.seed()["repo_url"]
    api.wait_for_dags([SYNC])
    api.end_active_runs(SYNC)  # max_active_runs=1: a run of another test would keep ours queued
    api.unpause(SYNC)
    started = time.monotonic()
    # Airflow registers the watcher when it next parses the DAG files after the unpause; the triggerer
    # then starts it (its first log line). A state file alone may be left from an earlier watcher.
    _wait(lambda: _watching(api, url), timeout, "the Git watcher did not start")
    _wait(lambda: last_seen(url, "main") == resolve(url, "main"), timeout, "the Git watcher took no baseline")
    watcher_s = time.monotonic() - started
    before = {r["dag_run_id"] for r in api.runs(SYNC)}
    sha = commit_files(url, "main", {f"{demo.DEMO_PATH}/watch-probe.txt": secrets.token_hex(8) + "\n"},
                       "test: a person's commit that the Git watcher must sync")
    pushed = time.time()
    run = _wait(lambda: next((r for r in api.runs(SYNC) if r["dag_run_id"] not in before), None), timeout,
                "no gitops_manifest_sync run after the push")
    fetch = _wait(lambda: next((t for t in api.task_instances(SYNC, run["dag_run_id"])
                                if t["task_id"] == "fetch" and t.get("start_date")), None),
                  timeout, "the sync's first task did not start")
    events = api.get(f"/api/v2/dags/{SYNC}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")["asset_events"]
    # Let the run end by itself: ending it while its tasks start locked the SQLite metadata DB for a minute.
    run = api.wait_for_run(SYNC, run["dag_run_id"], timeout=timeout)
    return {"sha": sha, "run": run, "tasks": api.task_states(SYNC, run["dag_run_id"]), "events": [e.get("extra") or {} for e in events], "watcher_start_s": watcher_s,
            "push_to_run_s": ts(run["queued_at"] or run["start_date"]) - pushed,
            "push_to_first_task_s": ts(fetch["start_date"]) - pushed}
