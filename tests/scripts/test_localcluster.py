"""The local control plane (kube-apiserver + etcd [+ controllers + kwok]) of scripts/localcluster."""

from __future__ import annotations

import time

import pytest
from fixtures._services import require_service

import scripts.localcluster as localcluster
from scripts.localcluster import LocalClusterError
from include.gitops.kubeconfig import probe_kubeconfig
from scripts.localcluster.processes import alive, port_free


@pytest.fixture
def no_cluster(monkeypatch, tmp_path):
    """No KUBECONFIG and no built binaries."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(tmp_path / "no-assets"))
    monkeypatch.setenv("DELIVERY_TOOLS", str(tmp_path / "no-tools"))
    return tmp_path


def test_start_without_binaries_says_how_to_build_them(no_cluster):
    with pytest.raises(LocalClusterError, match="not built.*30-k8s.sh"):
        localcluster.start_local(state=no_cluster / "state")


def test_failed_start_reports_the_log_tail(tmp_path):
    """A component that dies while starting: the error names it and shows its last log lines."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in localcluster.CORE_BINARIES:
        script = assets / name
        script.write_text(f"#!/bin/sh\necho '{name}: flag provided but not defined: --bogus' >&2\nexit 2\n")
        script.chmod(0o755)
    with pytest.raises(LocalClusterError) as info:
        localcluster.start_local(state=tmp_path / "state", assets=assets, controllers=False, timeout=20)
    message = str(info.value)
    assert "etcd exited while starting" in message
    assert "flag provided but not defined: --bogus" in message
    assert not (tmp_path / "state" / "cluster.json").exists()


@pytest.mark.k8s
def test_configmap_create_and_read(k8s_client, k8s_namespace):
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    core.create_namespaced_config_map(k8s_namespace, {"metadata": {"name": "settings"}, "data": {"level": "debug"}})
    read = core.read_namespaced_config_map("settings", k8s_namespace)
    assert read.data == {"level": "debug"}
    assert read.metadata.uid and read.metadata.resource_version


@pytest.mark.k8s
def test_server_side_apply_owns_fields_and_reports_conflicts(k8s_client, k8s_namespace):
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(k8s_client)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": k8s_namespace},
            "data": {"replicas": "2"}}

    def apply(manager: str, data: dict, force: bool = False):
        return core.patch_namespaced_config_map("app", k8s_namespace, {**body, "data": data},
                                                field_manager=manager, force=force,
                                                _content_type="application/apply-patch+yaml")

    created = apply("delivery-gitops", {"replicas": "2"})
    managers = {(m.manager, m.operation) for m in created.metadata.managed_fields}
    assert ("delivery-gitops", "Apply") in managers
    again = apply("delivery-gitops", {"replicas": "2"})
    assert again.metadata.resource_version == created.metadata.resource_version  # no-op apply

    with pytest.raises(ApiException) as conflict:
        apply("someone-else", {"replicas": "5"})
    assert conflict.value.status == 409 and "conflict" in conflict.value.body.lower()
    forced = apply("someone-else", {"replicas": "5"}, force=True)
    assert forced.data == {"replicas": "5"}


@pytest.mark.k8s
def test_start_stop_lifecycle(tmp_path):
    """An API-server-only control plane in its own folder: start, reuse, stop; nothing is left."""
    if not localcluster.has_local_binaries():
        require_service("Kubernetes API server", localcluster.missing_binaries_message(), localcluster.SETUP_HINT)
    state = tmp_path / "k8s"
    began = time.monotonic()
    path = localcluster.start_local(state=state, controllers=False)
    took = time.monotonic() - began
    try:
        cluster = localcluster.local_status(state)
        assert cluster is not None and path == cluster.kubeconfig == str(state / "kubeconfig")
        assert [c.name for c in cluster.components] == ["etcd", "kube-apiserver"]
        assert cluster.server.startswith("https://127.0.0.1:")
        ok, detail = probe_kubeconfig(path)
        assert ok, detail
        assert localcluster.start_local(state=state, controllers=False) == path  # reused
        assert [c.pid for c in localcluster.local_status(state).components] == [c.pid for c in cluster.components]
        print(f"API-server-only start took {took:.1f}s")
    finally:
        assert localcluster.stop_local(state=state, wipe=True) == str(state / "kubeconfig")
    for comp in cluster.components:
        assert not alive(comp.pid), f"{comp.name} (pid {comp.pid}) still runs"
        assert port_free(comp.port), f"{comp.name} port {comp.port} still bound"
    assert localcluster.local_status(state) is None
    assert not (state / "cluster.json").exists() and not (state / "etcd").exists()


@pytest.mark.k8s
def test_deployment_becomes_available_and_job_completes(kubeconfig, k8s_client, k8s_namespace):
    """With kube-controller-manager, kube-scheduler and kwok: real rollout and Job status."""
    cluster = localcluster.local_status()
    if cluster is not None and cluster.kubeconfig == kubeconfig and not cluster.controllers:  # a configured cluster has its own
        require_service("kube-controller-manager, kube-scheduler and kwok",
                        "the local control plane runs without them, so nothing rolls Deployments out",
                        "bash scripts/setup.d/30-k8s.sh (builds them)")
    from kubernetes import client

    apps, batch = client.AppsV1Api(k8s_client), client.BatchV1Api(k8s_client)
    labels = {"app": "web"}
    apps.create_namespaced_deployment(k8s_namespace, {
        "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
    })
    batch.create_namespaced_job(k8s_namespace, {
        "metadata": {"name": "migrate"},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                 "containers": [{"name": "migrate", "image": "busybox:1.36", "command": ["true"]}]}}},
    })
    deadline = time.monotonic() + 90
    available = succeeded = False
    while time.monotonic() < deadline and not (available and succeeded):
        dep = apps.read_namespaced_deployment_status("web", k8s_namespace)
        conditions = {c.type: c.status for c in (dep.status.conditions or [])}
        available = conditions.get("Available") == "True" and (dep.status.available_replicas or 0) == 2
        job = batch.read_namespaced_job_status("migrate", k8s_namespace)
        succeeded = (job.status.succeeded or 0) >= 1
        time.sleep(0.5)
    assert available, f"Deployment not Available: {dep.status}"
    assert succeeded, f"Job not complete: {job.status}"
