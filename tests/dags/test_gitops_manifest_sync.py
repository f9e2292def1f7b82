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


def _webhook_receiver() -> tuple[list[dict], str]:
    """A real HTTP server in a thread that keeps every JSON body POSTed to it: (bodies, its URL)."""
    import http.server
    import threading

    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return received, f"http://127.0.0.1:{server.server_address[1]}/hooks/gitops"


@pytest.fixture
def plan_only(monkeypatch):
    """No cluster configured: no KUBECONFIG and no connection, so the hook plans only."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", raising=False)


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
    good change next to it is not applied, history says Failed), a fixed commit, then rollback.
    A webhook receives the notifications: deployed once per revision, and the failed sync."""
    from include.common.git import commit_files, seed_bare_repo
    from include.gitops import history
    from include.gitops.client import Cluster
    from include.gitops.types import ResourceKey

    received, webhook = _webhook_receiver()
    monkeypatch.setenv("AIRFLOW_CONN_GITOPS_NOTIFICATIONS", json.dumps({"conn_type": "http", "host": webhook}))
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
    assert [(n["trigger"], n["entry"]["revision"]) for n in received] == [("on-deployed", rev1)]
    assert run_dag("gitops_manifest_sync", conf).state == "success"  # the same revision again: no new notification
    assert len(received) == 1

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
    assert received[-1]["trigger"] == "on-sync-failed" and "validate" in received[-1]["message"]

    rev3 = commit_files(url, "main", {"app/web.yaml": None}, "fix")
    fixed = run_dag("gitops_manifest_sync", conf)
    assert fixed.state == "success"
    assert cluster.get(cm)["data"]["color"] == "red"

    back = run_dag("gitops_manifest_sync", {**conf, "rollback": True})
    assert back.state == "success", back.task_states
    assert cluster.get(cm)["data"]["color"] == "blue"
    entries = history.entries(app)
    assert [(e.result, e.revision) for e in entries] == [
        ("Succeeded", rev1), ("Succeeded", rev1), ("Failed", entries[2].revision), ("Succeeded", rev3), ("Succeeded", rev1)]
    assert [(n["trigger"], n["entry"]["revision"]) for n in received] == [
        ("on-deployed", rev1), ("on-sync-failed", entries[2].revision), ("on-deployed", rev3), ("on-deployed", rev1)]
    assert entries[-1].requested == "rollback"


ALWAYS_DENIED = [{"kind": "deny", "schedule": "* * * * *", "duration": "1h"}]


def test_a_manual_sync_in_a_deny_window_fails_before_fetch_and_override_goes_on(airflow_db, plan_only) -> None:
    blocked = run_dag("gitops_manifest_sync", {"sync_windows": ALWAYS_DENIED})
    assert blocked.state == "failed"
    assert blocked.task_states["sync_window"] == "failed"
    assert blocked.task_states["fetch"] in ("upstream_failed", "skipped")
    error = json.loads((_report(blocked.run_id) / "error.json").read_text())
    assert error["step"] == "sync_window" and "blocked by the active deny window" in error["error"]
    assert "override_sync_window=true" in error["error"]
    forced = run_dag("gitops_manifest_sync", {"sync_windows": ALWAYS_DENIED, "override_sync_window": True})
    assert forced.state == "success", forced.task_states  # plan-only: it stops after the diff


def test_an_event_started_sync_waits_for_its_window_in_the_triggerer() -> None:
    """Not manual: the gate defers until the window opens (a DateTimeTrigger), holding no slot."""
    from datetime import datetime, timezone
    from types import SimpleNamespace

    from airflow.sdk.exceptions import TaskDeferred

    from delivery.operators.gitops_window import SyncWindowOperator

    gate = SyncWindowOperator(task_id="sync_window", windows=ALWAYS_DENIED, override=False)
    with pytest.raises(TaskDeferred) as deferred:
        gate.execute({"dag_run": SimpleNamespace(run_type="asset_triggered")})
    moment = deferred.value.trigger.moment
    assert deferred.value.method_name == "execute"
    assert 0 < (moment - datetime.now(timezone.utc)).total_seconds() <= 3600
