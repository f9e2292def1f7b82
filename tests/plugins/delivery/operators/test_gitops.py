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
    """Healthy passes; Degraded and a timeout fail (final, with error.json naming the health step);
    progressing_ok turns the timeout into a warning; health_timeout 0 ("not-waited") passes."""
    from airflow.sdk.exceptions import AirflowFailException

    folder = gitops.run_folder(context)
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


def test_health_timeout_zero_means_do_not_wait(context) -> None:
    request = gitops.resolve_request({**PARAMS, "health_timeout": 0}, context)
    assert request["health_timeout"] == 0
    op = GitOpsHealthOperator(task_id="h", state=request)
    assert op._inputs()[2] == 0.0
    assert gitops.resolve_request({k: v for k, v in PARAMS.items() if k != "health_timeout"}, context)["health_timeout"] == 120


def test_unreachable_cluster_fails_a_sync_but_a_dry_run_plans(monkeypatch, capsys) -> None:
    from include.gitops import localcluster

    choice = localcluster.ClusterChoice(localcluster.ClusterMode.UNREACHABLE, None,
                                        "the configured cluster does not answer (KUBECONFIG /k (https://10.9.9.9:6443) ...)")
    monkeypatch.setattr(localcluster, "find_cluster", lambda *a, **kw: choice)
    with pytest.raises(localcluster.ClusterUnreachableError, match=r"10\.9\.9\.9"):
        gitops._cluster({"dry_run": False})
    cluster, hook = gitops._cluster({"dry_run": True})
    assert cluster is None and hook.unreachable
    assert "planning only" in capsys.readouterr().out


def test_failed_prune_delete_fails_the_task(context, monkeypatch) -> None:
    from include.gitops import prune as pruning
    from include.gitops.types import ResourceKey

    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "default",
                                                                 "labels": {"app.delivery.io/name": "shop"}}}
    fake = SimpleNamespace(owned=lambda selector, kinds: [obj])
    monkeypatch.setattr(gitops, "_cluster", lambda state: (fake, None))
    monkeypatch.setattr(gitops, "_load", lambda path: [])
    monkeypatch.setattr(gitops, "_history_kinds", lambda app, cluster: set())
    monkeypatch.setattr(pruning, "prune", lambda cluster, to_prune, protected, dry_run: [
        pruning.PruneResult(ResourceKey.of(obj), "failed", "HTTP 403: forbidden")])
    state = {"app": "shop", "desired": "x", "prune": True}
    with pytest.raises(RuntimeError, match="could not delete 1 resource.*ConfigMap.*old.*403"):
        gitops.prune.__wrapped__(state, context)
    saved = json.loads((gitops.run_folder(context) / "state.json").read_text())
    assert saved["pruned"][0]["action"] == "failed", "the result is saved before the task fails"


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
