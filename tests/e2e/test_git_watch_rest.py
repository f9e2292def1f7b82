"""A push to the manifests repo reaches the sync's first task on a real Airflow, with no trigger call."""

from __future__ import annotations

import pytest

from e2e.git_watch import push_reaches_sync

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_push_starts_the_sync_of_the_automated_app_by_itself(airflow_api):
    found = push_reaches_sync(airflow_api)
    assert found["run"]["run_type"] == "asset_triggered", found["run"]
    assert all(e["from_trigger"] for e in found["events"]), found["events"]  # Airflow wraps a watcher's event
    payloads = [e["payload"] for e in found["events"]]
    assert [(p["app"], p["sha"], p["trace"]["source"]) for p in payloads] == [("shop", found["sha"], "git_watch")]
    print(f"\npush -> sync run {found['push_to_run_s']:.1f} s, -> first task started {found['push_to_first_task_s']:.1f} s")
    assert found["push_to_first_task_s"] <= 30, found


def test_the_sync_started_by_a_push_fetches_the_pushed_commit(airflow_api):
    from e2e.flow import SYNC

    found = push_reaches_sync(airflow_api)
    assert found["tasks"]["fetch"] == "success", found["tasks"]
    assert airflow_api.xcom(SYNC, found["run"]["dag_run_id"], "fetch")["revision"] == found["sha"]
