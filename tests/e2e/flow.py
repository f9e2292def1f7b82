"""One whole linked flow through the REST API alone, with the numbers the links issue asks for.

train (``mlops_train_register``) -> promote (champion moves) -> the deferred sensor of
``mlops_promote_to_gitops`` fires -> manifests commit -> ``gitops_manifest_sync`` for that commit
-> Healthy. Used by tests/e2e/test_flow_rest.py and bench/bench_links.py.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from e2e.airflow_api import AirflowAPI

PROMOTE = "mlops_promote_to_gitops"
TRAIN = "mlops_train_register"
SYNC = "gitops_manifest_sync"
FLOW_DAGS = (TRAIN, PROMOTE, SYNC)


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def slots(api: AirflowAPI) -> dict[str, int]:
    """Task instances across all DAG runs: running (holding a worker slot) and deferred (not)."""
    out = {}
    for state in ("running", "deferred"):
        page = api.get("/api/v2/dags/~/dagRuns/~/taskInstances", state=state, limit=100)
        out[state] = page["total_entries"]
    return out


def wait_for_task_state(api: AirflowAPI, dag_id: str, run_id: str, task_id: str, states: set[str],
                        timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        tis = {t["task_id"]: t for t in api.task_instances(dag_id, run_id)}
        ti = tis.get(task_id)
        if ti and ti["state"] in states:
            return ti
        run = api.run(dag_id, run_id)
        if run["state"] in ("success", "failed"):
            raise AssertionError(f"{dag_id} {run_id} ended {run['state']} before {task_id} was {states}: "
                                 f"{ {k: v['state'] for k, v in tis.items()} }")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{dag_id}.{task_id} not in {states} after {timeout:.0f} s: {ti and ti['state']}")
        time.sleep(1)


def run_flow(api: AirflowAPI, repo: dict | None = None, *, train_conf: dict | None = None,
             promote_conf: dict | None = None, timeout: float = 900) -> dict[str, Any]:
    """Drive the flow; return the runs, their states and the measured numbers.

    ``repo`` None: the demo manifests repo, the one the DAGs use with default params. Then the run
    that the ``model_promoted`` Asset event schedules as well (queued behind ours, one run at a
    time) finds the model already deployed and just waits, deferred; with another repo it would
    deploy the model to the demo repo and sync the same app a second time.
    """
    import secrets

    model = (promote_conf or {}).get("model_name") or f"links-e2e-{secrets.token_hex(3)}"  # a fresh registry entry
    # Create the embedded MLflow store's tables now (tens of seconds on a busy machine): that is
    # set-up, not part of the flow being measured. The DAGs use the same $DELIVERY_STATE.
    from delivery.hooks.mlflow import MlflowHook

    MlflowHook().get_client().search_registered_models(max_results=1)
    api.wait_for_dags(FLOW_DAGS)
    for dag_id in FLOW_DAGS:
        api.unpause(dag_id)
    if repo is None:
        from include.links.demo import seed

        repo = seed()
    conf = {"repo_url": repo["repo_url"], "path": repo["path"], "app": repo["app"], "poll_interval": 2,
            "backoff": 1.5, "max_poll_interval": 10, "wait_timeout": int(timeout), "health_timeout": 180,
            **(promote_conf or {}), "model_name": model}
    promote = api.trigger(PROMOTE, conf)
    sensor = wait_for_task_state(api, PROMOTE, promote["dag_run_id"], "wait_for_champion", {"deferred"}, timeout=900)
    time.sleep(3)  # let the executor hand back the slot it used for the first check
    waiting = slots(api)

    started = time.time()
    train = api.trigger(TRAIN, {"n_trials": 4, "workers": 1, **(train_conf or {}), "model_name": model,
                                "experiment": model})
    train_done = api.wait_for_run(TRAIN, train["dag_run_id"], timeout=timeout)
    train_tis = {t["task_id"]: t for t in api.task_instances(TRAIN, train["dag_run_id"])}
    promoted = train_tis.get("promote") or {}

    done = api.wait_for_run(PROMOTE, promote["dag_run_id"], timeout=timeout)
    flow_end = time.time()
    tis = {t["task_id"]: t for t in api.task_instances(PROMOTE, promote["dag_run_id"])}
    result: dict[str, Any] = {
        "repo": repo, "model_name": model, "train_run": train["dag_run_id"], "train_state": train_done["state"], "promote_run": promote["dag_run_id"],
        "promote_state": done["state"], "promote_tasks": {k: v["state"] for k, v in tis.items()},
        "sensor_state_while_waiting": sensor["state"], "slots_while_waiting": waiting,
        "train_s": (ts(train_done["end_date"]) or flow_end) - (ts(train_done["start_date"]) or started),
    }
    wrote = None
    if tis.get("write_back", {}).get("state") == "success":
        wrote = api.xcom(PROMOTE, promote["dag_run_id"], "write_back")
    if wrote:
        alias_moved = ts(promoted.get("end_date"))
        result.update(wrote=wrote, sensor_event=api.xcom(PROMOTE, promote["dag_run_id"], "wait_for_champion"),
                      sensor_fired_after_alias_s=(ts(tis["wait_for_champion"]["end_date"]) - alias_moved)
                      if alias_moved else None)
        try:
            sync = api.run(SYNC, wrote["sync_run_id"])
        except Exception as exc:  # noqa: BLE001 - reported, the test asserts on the states
            result["sync_error"] = str(exc)
        else:
            result.update(
                sync_run=sync["dag_run_id"], sync_state=sync["state"],
                alias_to_sync_start_s=(ts(sync["start_date"]) - alias_moved)
                if alias_moved and sync.get("start_date") else None,
                flow_s=(ts(sync["end_date"]) or flow_end) - started,
            )
    if tis.get("check_health", {}).get("state") == "success":
        result["health"] = api.xcom(PROMOTE, promote["dag_run_id"], "check_health")
    if tis.get("rollback", {}).get("state") == "success":
        result["rollback"] = api.xcom(PROMOTE, promote["dag_run_id"], "rollback")
    return result
