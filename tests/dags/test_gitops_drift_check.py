"""End-to-end runs of gitops_drift_check (and the sync it feeds) with dag.test()."""

from __future__ import annotations

import json

import pytest

from dag_runner import run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _report(run_id: str, dag_id: str):
    from include.common.paths import report_dir

    return report_dir(dag_id, run_id)


def test_plan_only_drift_check_reports_no_comparison(airflow_db, monkeypatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)  # and no connection: plan-only
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)
    result = run_dag("gitops_drift_check", {})
    assert result.state == "success", result.task_states
    assert result.task_states["emit_drift"] == "skipped"  # no comparison, so no drift claimed
    report = json.loads((_report(result.run_id, "gitops_drift_check") / "diff.json").read_text())
    assert report["mode"] == "plan-only"


@pytest.mark.k8s
def test_sync_then_drift_then_dry_run_then_heal(airflow_db, kubeconfig, k8s_client, monkeypatch) -> None:
    """The demo app end to end: sync, drift check (Synced), hand edit, drift check (OutOfSync,
    cluster_drift emitted), dry-run sync (nothing applied), sync (restored), history recorded."""
    from include.gitops import history
    from include.gitops.client import Cluster
    from include.gitops.demo import seed
    from include.gitops.types import ResourceKey

    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    info = seed()
    app = "demo-e2e"
    conf = {"app": app, "repo_url": info["repo_url"], "path": info["path"], "health_timeout": 90, "wave_timeout": 30}
    cluster = Cluster(k8s_client)
    cm = ResourceKey("", "ConfigMap", info["namespace"], "shop-settings")

    synced = run_dag("gitops_manifest_sync", conf)
    assert synced.state == "success", synced.task_states
    assert synced.task_states["wait_for_health"] == "success"
    assert cluster.get(cm)["data"]["LOG_LEVEL"] == "debug"
    health = json.loads((_report(synced.run_id, "gitops_manifest_sync") / "health.json").read_text())
    assert health["status"] == "healthy"  # a run is green only when the app is Healthy
    assert health["resources"]["apiextensions.k8s.io/CustomResourceDefinition//widgets.demo.delivery.io"]["status"] == "Healthy"

    clean = run_dag("gitops_drift_check", conf)
    assert clean.state == "success" and clean.task_states["emit_drift"] == "skipped"
    assert json.loads((_report(clean.run_id, "gitops_drift_check") / "diff.json").read_text())["status"] == "Synced"

    cluster.request("PATCH", cluster.object_path(cm), query=[("fieldManager", "kubectl-edit")],
                    body={"data": {"LOG_LEVEL": "trace"}}, content_type="application/merge-patch+json")
    drift = run_dag("gitops_drift_check", conf)
    assert drift.state == "success" and drift.task_states["emit_drift"] == "success"
    report = json.loads((_report(drift.run_id, "gitops_drift_check") / "diff.json").read_text())
    assert report["status"] == "OutOfSync"
    (bad,) = [r for r in report["resources"] if r["status"] != "Synced"]
    assert bad["paths"] == ["/data/LOG_LEVEL"] and bad["name"] == "shop-settings"
    assert "LOG_LEVEL" in (_report(drift.run_id, "gitops_drift_check") / "summary.md").read_text()

    dry = run_dag("gitops_manifest_sync", {**conf, "dry_run": True})
    assert dry.state == "success" and dry.task_states["apply"] == "skipped"
    assert cluster.get(cm)["data"]["LOG_LEVEL"] == "trace"

    healed = run_dag("gitops_manifest_sync", {**conf, "force": True})
    assert healed.state == "success", healed.task_states
    assert cluster.get(cm)["data"]["LOG_LEVEL"] == "debug"
    results = [e.result for e in history.entries(app)]
    assert results == ["Succeeded", "Succeeded"]
