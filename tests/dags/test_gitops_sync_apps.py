"""``gitops_sync_apps``: every app apps.yaml declares, one mapped task each, against a real API server."""

from __future__ import annotations

import json

import pytest

from dag_runner import run_dag

pytestmark = pytest.mark.k8s


def _repo(tmp_path, ns: str, apps: dict[str, str]) -> str:
    """A manifests repo: apps/<name>/cm.yaml per app and an apps.yaml with a directory generator."""
    from include.common.git import seed_bare_repo

    src = tmp_path / "src"
    for name, body in apps.items():
        (src / "apps" / name).mkdir(parents=True)
        (src / "apps" / name / "cm.yaml").write_text(body)
    (src / "apps.yaml").write_text(
        "generators:\n  - git:\n      directories: [{path: apps/*}]\n"
        f"    template: {{name: \"many-{{{{path.basename}}}}\", namespace: {ns}, prune: true}}\n")
    seed_bare_repo(src, tmp_path / "repo.git", "apps")
    return f"file://{tmp_path / 'repo.git'}"


def cm(name: str, data: str = "color: blue") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{{data}}}\n"


def test_every_declared_app_syncs_with_its_own_history(airflow_db, kubeconfig, k8s_client, k8s_namespace, tmp_path,
                                                       monkeypatch) -> None:
    from include.common.paths import report_dir
    from include.gitops import history
    from include.gitops.client import Cluster
    from include.gitops.types import ResourceKey

    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    url = _repo(tmp_path, k8s_namespace, {"a": cm("a"), "b": cm("b"), "c": cm("c")})
    result = run_dag("gitops_sync_apps", {"repo_url": url, "health_timeout": 5})
    assert result.state == "success", result.task_states
    cluster = Cluster(k8s_client)
    for name in "abc":
        assert cluster.get(ResourceKey("", "ConfigMap", k8s_namespace, name))["data"] == {"color": "blue"}
        assert [e.result for e in history.entries(f"many-{name}")] == ["Succeeded"]
    summary = json.loads((report_dir("gitops_sync_apps", result.run_id) / "summary.json").read_text())
    assert summary["succeeded"] == 3 and summary["not_succeeded"] == []


def test_one_broken_app_fails_the_run_by_name_and_the_others_still_sync(airflow_db, kubeconfig, k8s_client,
                                                                         k8s_namespace, tmp_path, monkeypatch) -> None:
    from include.gitops import history
    from include.gitops.client import Cluster
    from include.gitops.types import ResourceKey

    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    url = _repo(tmp_path, k8s_namespace, {"ok": cm("ok"), "bad": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"})
    result = run_dag("gitops_sync_apps", {"repo_url": url, "health_timeout": 5})
    assert result.state == "failed"
    assert result.task_states["summarize"] == "failed" and result.task_states["sync_app"] == "failed"
    assert Cluster(k8s_client).get(ResourceKey("", "ConfigMap", k8s_namespace, "ok")) is not None
    assert history.entries("many-bad")[-1].result == "Failed"
    assert "metadata.name" in history.entries("many-bad")[-1].message


def test_an_app_not_declared_is_refused_before_anything_syncs(airflow_db, kubeconfig, k8s_namespace, tmp_path,
                                                              monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    url = _repo(tmp_path, k8s_namespace, {"a": cm("a")})
    result = run_dag("gitops_sync_apps", {"repo_url": url, "apps": ["many-zzz"]})
    assert result.state == "failed" and result.task_states["list_apps"] == "failed"


def test_a_repo_that_declares_no_apps_syncs_nothing_and_says_so(airflow_db, kubeconfig, tmp_path, monkeypatch) -> None:
    from include.common.git import seed_bare_repo

    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "README.md").write_text("no apps here\n")
    seed_bare_repo(tmp_path / "src", tmp_path / "empty.git", "empty")
    result = run_dag("gitops_sync_apps", {"repo_url": f"file://{tmp_path / 'empty.git'}"})
    assert result.state == "success" and result.task_states["list_apps"] == "success", result.task_states
    assert result.task_states["summarize"] == "success"
