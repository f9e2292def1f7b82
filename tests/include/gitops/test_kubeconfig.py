"""Which cluster a GitOps run talks to: a configured kubeconfig, unreachable, or plan-only; nothing starts one."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from include.gitops import kubeconfig as kc
from include.gitops.kubeconfig import ClusterMode


@pytest.fixture
def no_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return tmp_path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _dead_kubeconfig(path: Path) -> Path:
    port = _closed_port()
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                  "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
    }))
    return path


def test_plan_only_says_why_and_how_to_get_a_cluster(no_kubeconfig):
    choice = kc.resolve()
    assert choice.mode is ClusterMode.PLAN_ONLY
    assert not choice.connected and choice.kubeconfig is None
    assert "nothing was compared against a cluster" in choice.message
    assert "KUBECONFIG" in choice.message and "make k8s-start" in choice.message


def test_stale_kubeconfig_is_unreachable_not_plan_only(no_kubeconfig, monkeypatch):
    """A $KUBECONFIG that does not answer is a configured cluster that is down, not "no cluster"."""
    dead = _dead_kubeconfig(no_kubeconfig / "dead.kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(dead))
    choice = kc.resolve()
    assert choice.mode is ClusterMode.UNREACHABLE and not choice.connected
    assert "configured cluster does not answer" in choice.message and str(dead) in choice.message
    assert "KUBECONFIG" in choice.message


def test_unreachable_explicit_kubeconfig_names_its_source_and_server(no_kubeconfig):
    dead = _dead_kubeconfig(no_kubeconfig / "dead.kubeconfig")
    choice = kc.resolve(str(dead), source="the Airflow connection k8s_prod")
    assert choice.mode is ClusterMode.UNREACHABLE and choice.kubeconfig is None
    assert "the Airflow connection k8s_prod" in choice.message and str(dead) in choice.message
    assert choice.server and choice.server.startswith("https://127.0.0.1:")
    assert choice.server in choice.message


def test_a_missing_kubeconfig_file_is_unreachable(no_kubeconfig, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(no_kubeconfig / "nope.yaml"))
    choice = kc.resolve()
    assert choice.mode is ClusterMode.UNREACHABLE and "does not exist" in choice.message


@pytest.mark.k8s
def test_resolve_never_starts_the_local_control_plane(kubeconfig, monkeypatch):
    """With the local control plane running but no KUBECONFIG, a run plans only: the GitOps code
    acts on the cluster it is configured for, never on one it found or started by itself."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert kc.resolve().mode is ClusterMode.PLAN_ONLY
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    choice = kc.resolve()
    assert choice.mode is ClusterMode.CONFIGURED and choice.kubeconfig == kubeconfig
    assert "Kubernetes v" in choice.message


@pytest.mark.k8s
def test_readyz_and_version(kubeconfig):
    ok, detail = kc.probe_kubeconfig(kubeconfig)
    assert ok, detail
    from kubernetes import config

    api = config.new_client_from_config(config_file=kubeconfig)
    try:
        response = api.call_api("/readyz", "GET", query_params=[("verbose", "true")], auth_settings=["BearerToken"],
                                _return_http_data_only=True, _preload_content=False)
        assert response.status == 200
        assert "readyz check passed" in response.data.decode()
        assert "[+]etcd ok" in response.data.decode()
    finally:
        api.close()
