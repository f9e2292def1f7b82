from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from delivery.operators.gitops_health import GitOpsHealthOperator
from delivery.runs import report_folder


@pytest.fixture
def context() -> dict:
    return {"ti": SimpleNamespace(dag_id="gitops_unit"), "run_id": "manual__2026-11-26T00:00:00+00:00"}


def test_template_fields_are_documented() -> None:
    assert GitOpsHealthOperator.template_fields == ("state", "app", "resource_ids")
    for name in GitOpsHealthOperator.template_fields:
        assert f":param {name}:" in GitOpsHealthOperator.__doc__ and "(templated)" in GitOpsHealthOperator.__doc__


def test_finish_rules(context) -> None:
    """Healthy passes; Degraded and a timeout fail (final, with error.json naming the health step);
    progressing_ok turns the timeout into a warning; health_timeout 0 ("not-waited") passes."""
    from airflow.sdk.exceptions import AirflowFailException

    folder = report_folder(context)
    op = GitOpsHealthOperator(task_id="h", app="shop", resource_ids=[])
    assert op._finish(context, {"status": "healthy", "health": "Healthy", "message": "ok", "resources": {}})["status"] == "healthy"
    assert not (folder / "error.json").exists()
    with pytest.raises(AirflowFailException, match="slow.*progressing_ok"):
        op._finish(context, {"status": "timeout", "health": "Progressing", "message": "slow", "resources": {}})
    assert json.loads((folder / "health.json").read_text())["status"] == "timeout"
    error = json.loads((folder / "error.json").read_text())
    assert error["step"] == "health" and "slow" in error["error"]
    (folder / "error.json").unlink()
    with pytest.raises(AirflowFailException, match="bad"):
        op._finish(context, {"status": "degraded", "health": "Degraded", "message": "bad", "resources": {}})
    assert json.loads((folder / "error.json").read_text())["type"] == "degraded"
    (folder / "error.json").unlink()

    lenient = GitOpsHealthOperator(task_id="h2", state={"app": "shop", "progressing_ok": True})
    assert lenient._finish(context, {"status": "timeout", "health": "Progressing", "message": "slow",
                                     "resources": {}})["health"] == "Progressing"
    with pytest.raises(AirflowFailException, match="bad"):
        lenient._finish(context, {"status": "degraded", "health": "Degraded", "message": "bad", "resources": {}})
    (folder / "error.json").unlink()
    assert op._finish(context, {"status": "not-waited", "health": "Progressing", "message": "not waiting",
                                "resources": {}})["status"] == "not-waited"
    assert not (folder / "error.json").exists()


def test_health_timeout_zero_means_do_not_wait() -> None:
    op = GitOpsHealthOperator(task_id="h", state={"app": "shop", "health_timeout": 0.0})
    assert op._inputs()[2] == 0.0
    assert GitOpsHealthOperator(task_id="h", state={"app": "shop"})._inputs()[2] == 300.0


def test_inputs_come_from_state_unless_given() -> None:
    op = GitOpsHealthOperator(task_id="h", state={"app": "a", "resources": ["/v1/ConfigMap/x/y"], "health_timeout": 7})
    assert op._inputs()[:3] == ("a", ["/v1/ConfigMap/x/y"], 7.0)
    op = GitOpsHealthOperator(task_id="h", state={"app": "a", "health_timeout": 7}, app="b", timeout=1)
    assert op._inputs()[:3] == ("b", [], 1.0)


def test_the_wait_in_the_worker_follows_the_trigger_rules(context) -> None:
    """deferrable=False: the same outcome as the trigger's (here: Degraded, naming the resource)."""
    from airflow.sdk.exceptions import AirflowFailException

    trigger = SimpleNamespace(app="shop", timeout=30, poll_interval=0.01, remaining=lambda: 10, check=lambda: {
        "health": "Degraded", "resources": {"batch/Job/demo/migrate": {"status": "Degraded", "message": "BackoffLimitExceeded"}}})
    op = GitOpsHealthOperator(task_id="h", app="shop", deferrable=False)
    with pytest.raises(AirflowFailException, match="batch/Job/demo/migrate: BackoffLimitExceeded"):
        op._poll(context, trigger)
    (report_folder(context) / "error.json").unlink()
