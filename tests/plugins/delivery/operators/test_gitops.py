from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from delivery.operators import gitops
from delivery.operators.gitops import GitOpsHealthOperator


@pytest.fixture
def context() -> dict:
    return {"ti": SimpleNamespace(dag_id="gitops_unit"), "run_id": "manual__2026-11-26T00:00:00+00:00"}


def test_template_fields_are_documented() -> None:
    assert GitOpsHealthOperator.template_fields == ("state", "app", "resource_ids")
    for name in GitOpsHealthOperator.template_fields:
        assert f":param {name}:" in GitOpsHealthOperator.__doc__ and "(templated)" in GitOpsHealthOperator.__doc__


def test_gate_stops_on_dry_run_and_plan_only(capsys) -> None:
    assert gitops.should_apply({"cluster_mode": "local", "dry_run": False})
    assert not gitops.should_apply({"cluster_mode": "local", "dry_run": True})
    assert not gitops.should_apply({"cluster_mode": "plan-only", "cluster_message": "plan-only: no cluster"})
    assert "PLAN-ONLY" in capsys.readouterr().out


def test_finish_rules(context) -> None:
    from airflow.sdk.exceptions import AirflowException

    op = GitOpsHealthOperator(task_id="h", app="shop", resource_ids=[])
    assert op._finish(context, {"status": "healthy", "health": "Healthy", "message": "ok", "resources": {}})["status"] == "healthy"
    assert op._finish(context, {"status": "timeout", "health": "Progressing", "message": "slow", "resources": {}})["health"] == "Progressing"
    with pytest.raises(AirflowException, match="bad"):
        op._finish(context, {"status": "degraded", "health": "Degraded", "message": "bad", "resources": {}})
    strict = GitOpsHealthOperator(task_id="h2", app="shop", resource_ids=[], fail_on_timeout=True)
    with pytest.raises(AirflowException, match="slow"):
        strict._finish(context, {"status": "timeout", "health": "Progressing", "message": "slow", "resources": {}})
    saved = json.loads((gitops.run_folder(context) / "health.json").read_text())
    assert saved["status"] == "timeout"


def test_inputs_come_from_state_unless_given() -> None:
    op = GitOpsHealthOperator(task_id="h", state={"app": "a", "resources": ["/v1/ConfigMap/x/y"], "health_timeout": 7})
    assert op._inputs()[:3] == ("a", ["/v1/ConfigMap/x/y"], 7.0)
    op = GitOpsHealthOperator(task_id="h", state={"app": "a", "health_timeout": 7}, app="b", timeout=1)
    assert op._inputs()[:3] == ("b", [], 1.0)


def _drift_context(context: dict, extra: dict) -> dict:
    from delivery.assets import cluster_drift

    return {**context, "triggering_asset_events": {cluster_drift: [SimpleNamespace(extra=extra)]}}


PARAMS = {"app": "shop", "repo_url": "file:///tmp/manifests.git", "path": "apps/shop/overlays/dev", "revision": "main",
          "self_heal": False, "prune": False, "dry_run": False, "health_timeout": 5}


def test_drift_event_without_self_heal_changes_nothing(context) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException, match="self-heal is off"):
        gitops.resolve_request(PARAMS, _drift_context(context, {"app": "shop", "self_heal": False}))


def test_drift_event_with_self_heal_syncs_with_force(context) -> None:
    request = gitops.resolve_request(PARAMS, _drift_context(
        context, {"app": "shop", "self_heal": True, "repo_url": "file:///tmp/other.git", "sha": "a" * 40}))
    assert request["self_heal"] and request["force"]
    assert request["repo_url"] == "file:///tmp/other.git" and request["revision"] == "a" * 40
    assert request["triggered_by"] == "cluster_drift"


def test_manifests_changed_event_carries_the_commit(context) -> None:
    from delivery.assets import manifests_changed

    ctx = {**context, "triggering_asset_events": {manifests_changed: [SimpleNamespace(extra={"repo": "file:///tmp/m.git", "commit": "b" * 40})]}}
    request = gitops.resolve_request(PARAMS, ctx)
    assert (request["repo_url"], request["revision"], request["force"]) == ("file:///tmp/m.git", "b" * 40, False)


def test_bad_ignore_rule_fails_before_anything(context) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="ignore_differences"):
        gitops.resolve_request({**PARAMS, "ignore_differences": [{"kind": "Deployment"}]}, context)
