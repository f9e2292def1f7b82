"""End-to-end runs of gitops_manifest_sync with dag.test().

Plan-only (no cluster) runs everywhere; the runs against the real API server use the
``kubeconfig`` fixture (the local control plane, or KUBECONFIG) and are marked k8s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dag_runner import run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def _report(run_id: str, dag_id: str = "gitops_manifest_sync") -> Path:
    from include.common.paths import report_dir

    return report_dir(dag_id, run_id)


@pytest.fixture
def plan_only(monkeypatch):
    """No cluster anywhere: find_cluster() answers plan-only."""
    from include.gitops import localcluster

    def no_cluster(*args, **kwargs):
        return localcluster.ClusterChoice(localcluster.ClusterMode.PLAN_ONLY, None,
                                          "plan-only: nothing was compared against a cluster (test)")

    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setattr(localcluster, "find_cluster", no_cluster)


def test_plan_only_stops_after_the_diff_and_says_so(airflow_db, plan_only) -> None:
    result = run_dag("gitops_manifest_sync", {})
    assert result.state == "success", result.task_states
    for task in ("fetch", "render", "validate", "diff", "continue_sync"):
        assert result.task_states[task] == "success", (task, result.task_states)
    for task in ("apply", "prune", "wait_for_health", "record"):
        assert result.task_states[task] == "skipped", (task, result.task_states)
    folder = _report(result.run_id)
    report = json.loads((folder / "diff.json").read_text())
    assert report["mode"] == "plan-only" and report["status"] == "Unknown"
    assert report["plan"]["steps"][0]["name"] == "namespaces and CRDs"
    assert "PLAN-ONLY" in (folder / "summary.md").read_text()
    assert len(json.loads((folder / "state.json").read_text())["sha"]) == 40


def test_bad_param_fails_in_fetch_without_retries(airflow_db, plan_only) -> None:
    result = run_dag("gitops_manifest_sync", {"revision": "main; rm -rf /"})
    assert result.state == "failed"
    assert result.task_states["fetch"] == "failed"
    assert result.task_states["apply"] in ("upstream_failed", "skipped")


@pytest.mark.k8s
def test_bad_commit_stops_before_apply_then_fix_then_rollback(airflow_db, kubeconfig, k8s_client, k8s_namespace,
                                                               tmp_path, monkeypatch) -> None:
    """Through the DAG: a good sync, a commit with a schema violation (stops in validate, the
    good change next to it is not applied, history says Failed), a fixed commit, then rollback."""
    from include.common.git import commit_files, seed_bare_repo
    from include.gitops import history
    from include.gitops.client import Cluster
    from include.gitops.types import ResourceKey

    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    ns = k8s_namespace
    src = tmp_path / "src" / "app"
    src.mkdir(parents=True)
    cm_text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {color: COLOR}\n"
    (src / "cm.yaml").write_text(cm_text.replace("COLOR", "blue"))
    url = f"file://{tmp_path / 'repo.git'}"
    rev1 = seed_bare_repo(tmp_path / "src", tmp_path / "repo.git", "v1")
    app = "bad-commit"
    conf = {"app": app, "repo_url": url, "path": "app", "namespace": ns, "health_timeout": 2, "prune": True}
    cluster = Cluster(k8s_client)
    cm = ResourceKey("", "ConfigMap", ns, "settings")

    assert run_dag("gitops_manifest_sync", conf).state == "success"
    assert cluster.get(cm)["data"]["color"] == "blue"

    bad_deploy = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: three\n"
                  "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
                  "    spec: {containers: [{name: web, image: nginx:1.27}]}\n")
    commit_files(url, "main", {"app/cm.yaml": cm_text.replace("COLOR", "red"), "app/web.yaml": bad_deploy}, "bad")
    bad = run_dag("gitops_manifest_sync", conf)
    assert bad.state == "failed"
    assert bad.task_states["validate"] == "failed"
    assert bad.task_states["apply"] in ("upstream_failed", "skipped")
    error = json.loads((_report(bad.run_id) / "error.json").read_text())
    assert error["step"] == "validate" and "Deployment.apps" in error["error"] and "web" in error["error"]
    assert cluster.get(cm)["data"]["color"] == "blue"  # the good change in the same commit was not applied
    assert cluster.get(ResourceKey("apps", "Deployment", ns, "web")) is None

    rev3 = commit_files(url, "main", {"app/web.yaml": None}, "fix")
    fixed = run_dag("gitops_manifest_sync", conf)
    assert fixed.state == "success"
    assert cluster.get(cm)["data"]["color"] == "red"

    back = run_dag("gitops_manifest_sync", {**conf, "rollback": True})
    assert back.state == "success", back.task_states
    assert cluster.get(cm)["data"]["color"] == "blue"
    entries = history.entries(app)
    assert [(e.result, e.revision) for e in entries] == [
        ("Succeeded", rev1), ("Failed", entries[1].revision), ("Succeeded", rev3), ("Succeeded", rev1)]
    assert entries[-1].requested == "rollback"
