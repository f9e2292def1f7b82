from __future__ import annotations

import json

import pytest

from delivery.hooks.kubernetes import GitOpsKubernetesHook
from include.gitops import kubeconfig as kc


@pytest.fixture
def seen(monkeypatch) -> list:
    calls: list = []

    def fake_resolve(kubeconfig=None, *, context=None, source=""):
        calls.append((kubeconfig, context))
        return kc.ClusterChoice(kc.ClusterMode.PLAN_ONLY, None, "plan-only: test")

    monkeypatch.setattr(kc, "resolve", fake_resolve)
    return calls


def test_hook_declares_its_connection() -> None:
    assert GitOpsKubernetesHook.conn_name_attr == "kubernetes_conn_id"
    assert GitOpsKubernetesHook.default_conn_name == "kubernetes_default"
    assert GitOpsKubernetesHook.conn_type == "kubernetes"
    assert GitOpsKubernetesHook.hook_name


def test_explicit_kubeconfig_wins(seen, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps({"conn_type": "kubernetes", "extra": {"kube_config_path": "/from/conn"}}))
    hook = GitOpsKubernetesHook(kubeconfig="/explicit", context="c1")
    assert hook.plan_only and hook.get_conn() is None and hook.get_cluster() is None
    assert seen == [("/explicit", "c1")]


def test_connection_path_and_context(seen, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", json.dumps(
        {"conn_type": "kubernetes", "extra": {"kube_config_path": "/from/conn", "cluster_context": "ctx"}}))
    assert GitOpsKubernetesHook().choice.mode == kc.ClusterMode.PLAN_ONLY
    assert seen == [("/from/conn", "ctx")]


def test_connection_inline_kubeconfig_is_written_private(seen, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MY_K8S", json.dumps({"conn_type": "kubernetes", "extra": {"kube_config": "apiVersion: v1\nkind: Config\n"}}))
    assert GitOpsKubernetesHook("my_k8s").plan_only
    path = seen[0][0]
    assert path.endswith("my_k8s.yaml")
    import os
    import stat
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "kind: Config" in open(path).read()


def test_no_connection_falls_back_to_kubeconfig_env(seen, monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)
    ok, message = GitOpsKubernetesHook().test_connection()
    assert seen == [(None, None)]
    assert not ok and "plan-only" in message


def test_unreachable_cluster_raises_with_the_address(monkeypatch) -> None:
    """A configured cluster that does not answer is an error, never plan-only."""
    message = "the configured cluster does not answer (given kubeconfig /k (https://10.0.0.1:6443) is not reachable)"
    monkeypatch.setattr(kc, "resolve", lambda *a, **kw: kc.ClusterChoice(
        kc.ClusterMode.UNREACHABLE, None, message, server="https://10.0.0.1:6443"))
    hook = GitOpsKubernetesHook(kubeconfig="/k")
    assert hook.unreachable and not hook.plan_only
    with pytest.raises(kc.ClusterUnreachableError, match=r"https://10\.0\.0\.1:6443"):
        hook.get_cluster()
    ok, said = hook.test_connection()
    assert not ok and "does not answer" in said
