"""The GitOps steps as Airflow sees them: skip and fail decisions, state.json, the events they emit.

The rules behind them are tested in tests/include/gitops (test_request, test_sync_waves, ...).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from delivery.operators import gitops, gitops_sync
from delivery.runs import report_folder

PARAMS = {"app": "shop", "repo_url": "file:///tmp/manifests.git", "path": "apps/shop/overlays/dev", "revision": "main",
          "self_heal": False, "prune": False, "dry_run": False, "health_timeout": 5}


@pytest.fixture
def context() -> dict:
    return {"ti": SimpleNamespace(dag_id="gitops_unit"), "run_id": "manual__2026-11-26T00:00:00+00:00"}


def _drift_context(context: dict, **extra) -> dict:
    from delivery.assets import cluster_drift
    from include.common.events import ClusterDrift

    event = ClusterDrift(app="shop", status="OutOfSync", repo_url="file:///tmp/other.git", path="apps/shop/overlays/dev",
                         sha="a" * 40, **extra)
    return {**context, "triggering_asset_events": {cluster_drift: [SimpleNamespace(extra=event.to_extra())]}}


def test_fetch_saves_the_request_as_the_state(context) -> None:
    state = gitops.fetch({**PARAMS, "health_timeout": 0}, **context)
    assert state["health_timeout"] == 0 and state["report_dir"] == str(report_folder(context))
    assert json.loads((report_folder(context) / "state.json").read_text()) == state


def test_drift_event_without_self_heal_skips_the_run(context) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException, match="self-heal is off"):
        gitops.fetch(PARAMS, **_drift_context(context, self_heal=False))


def test_drift_event_with_self_heal_syncs_its_commit_with_force(context) -> None:
    state = gitops.fetch(PARAMS, **_drift_context(context, self_heal=True))
    assert state["force"] and state["revision"] == "a" * 40 and state["triggered_by"] == "cluster_drift"


def test_bad_input_fails_at_once(context) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    with pytest.raises(AirflowFailException, match="ignore_differences"):
        gitops.fetch({**PARAMS, "ignore_differences": [{"kind": "Deployment"}]}, **context)


def test_gate_stops_on_dry_run_and_plan_only(capsys) -> None:
    assert gitops.continue_sync({"cluster_mode": "configured", "dry_run": False})
    assert not gitops.continue_sync({"cluster_mode": "configured", "dry_run": True})
    assert not gitops.continue_sync({"cluster_mode": "plan-only", "cluster_message": "plan-only: no cluster"})
    assert "PLAN-ONLY" in capsys.readouterr().out


def test_unreachable_cluster_fails_a_sync_but_a_dry_run_plans(monkeypatch, capsys) -> None:
    from include.gitops import kubeconfig as kc

    choice = kc.ClusterChoice(kc.ClusterMode.UNREACHABLE, None,
                              "the configured cluster does not answer (KUBECONFIG /k (https://10.9.9.9:6443) ...)")
    monkeypatch.setattr(kc, "resolve", lambda *a, **kw: choice)
    with pytest.raises(kc.ClusterUnreachableError, match=r"10\.9\.9\.9"):
        gitops.cluster_for({"dry_run": False})
    cluster, hook = gitops.cluster_for({"dry_run": True})
    assert cluster is None and hook.unreachable
    assert "planning only" in capsys.readouterr().out


def test_emit_drift_only_when_out_of_sync(context) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.assets import cluster_drift

    result = {"app": "shop", "status": "OutOfSync", "counts": {"OutOfSync": 1}, "out_of_sync": ["/ConfigMap/d/x"], "sha": "s"}
    outlet = SimpleNamespace(extra=None)
    gitops.emit_drift(result, **context, outlet_events={cluster_drift: outlet})
    assert outlet.extra == {k: v for k, v in result.items() if k != "out_of_sync"}
    with pytest.raises(AirflowSkipException, match="Synced: no drift event"):
        gitops.emit_drift({**result, "status": "Synced"}, **context, outlet_events={})


def test_failed_prune_delete_fails_the_task_after_saving_the_state(context, monkeypatch) -> None:
    from include.gitops import sync
    from include.gitops.client import ClusterError

    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "default",
                                                                 "labels": {"app.delivery.io/name": "shop"}}}

    def refuse(obj):
        raise ClusterError("DELETE ...: HTTP 403 Forbidden: forbidden", status=403)

    fake = SimpleNamespace(owned=lambda selector, kinds: [obj], delete=refuse)
    monkeypatch.setattr(gitops_sync, "cluster_for", lambda state: (fake, None))
    monkeypatch.setattr(gitops_sync, "load_objects", lambda path: [])
    monkeypatch.setattr(sync, "history_kinds", lambda app, cluster: set())
    with pytest.raises(RuntimeError, match="could not delete 1 resource.*ConfigMap.*old.*403"):
        gitops_sync.prune({"app": "shop", "desired": "x", "prune": True}, **context)
    saved = json.loads((report_folder(context) / "state.json").read_text())
    assert saved["pruned"][0]["action"] == "failed", "the result is saved before the task fails"


def test_record_emits_cluster_synced_and_fails_a_failed_sync(context) -> None:
    from airflow.sdk.exceptions import AirflowException

    from delivery.assets import cluster_synced
    from include.common.events import ClusterSynced
    from include.common.reports import write_report

    ctx = {**context, "run_id": "manual__record"}
    folder = report_folder(ctx)
    write_report(folder, "state.json", {"app": "record-unit", "sha": "c" * 40, "repo_url": "file:///m.git", "path": "p",
                                        "revision": "main", "resources": []})
    write_report(folder, "health.json", {"status": "healthy", "health": "Healthy", "message": "ok"})
    outlet = SimpleNamespace(extra=None)
    result = gitops_sync.record(**ctx, outlet_events={cluster_synced: outlet})
    event = ClusterSynced.from_extra(outlet.extra)
    assert result == outlet.extra and (event.app, event.sha, event.health) == ("record-unit", "c" * 40, "Healthy")
    write_report(folder, "error.json", {"step": "apply", "error": "boom", "type": "RuntimeError"})
    with pytest.raises(AirflowException, match="failed in step apply: boom"):
        gitops_sync.record(**ctx, outlet_events={cluster_synced: outlet})
