"""ClusterWatchTrigger: serializes every argument, waits out a missing cluster, and (against a
real API server) turns a hand edit into a cluster_drift event that gitops_manifest_sync accepts."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from pathlib import Path

import pytest

from delivery.triggers.cluster_watch import ClusterWatchTrigger
from include.common.events import ClusterDrift
from include.gitops.client import Cluster
from include.gitops.sync import PRUNE_KINDS
from include.gitops.types import LABEL_APP

SHA = "c" * 40


def test_serialize_round_trip_keeps_every_argument() -> None:
    trigger = ClusterWatchTrigger(kubernetes_conn_id="k8s_test", kubeconfig="/tmp/kc", context="ctx", app="shop",
                                  extra_kinds=[["example.io/v1", "Gadget"]], self_heal=True, debounce=0.5,
                                  state_file="/tmp/w.json", watch_timeout=60, retry_interval=1, max_backoff=30)
    path, kwargs = trigger.serialize()
    assert path == "delivery.triggers.cluster_watch.ClusterWatchTrigger"
    assert ClusterWatchTrigger(**kwargs).serialize() == (path, kwargs)
    assert set(kwargs) == {"kubernetes_conn_id", "kubeconfig", "context", "app", "extra_kinds", "self_heal", "debounce",
                           "state_file", "watch_timeout", "retry_interval", "max_backoff"}
    json.dumps(kwargs)  # what the triggerer stores


@pytest.fixture
def trigger_log():
    """The trigger's log records, from a handler on its own logger (other tests may reconfigure
    Airflow's logging and stop it from propagating to caplog)."""
    records: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("delivery.triggers.cluster_watch")
    logger.addHandler(handler)
    old_level, logger.level = logger.level, logging.ERROR
    yield records
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _keeps_running(trigger: ClusterWatchTrigger, until, timeout: float = 15) -> None:
    """Run the trigger until ``until()`` holds: meanwhile it must neither yield nor end (nor raise)."""
    async def scenario():
        task = asyncio.ensure_future(trigger.run().__anext__())
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            assert not task.done(), task.result() if not task.exception() else task.exception()
            await asyncio.sleep(0.02)
        assert not task.done(), task.result() if not task.exception() else task.exception()
        task.cancel()

    asyncio.run(scenario())


def test_no_cluster_configured_is_said_loudly_and_looked_for_again(monkeypatch, trigger_log, tmp_path) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    attempts = []
    original = ClusterWatchTrigger._api_client
    monkeypatch.setattr(ClusterWatchTrigger, "_api_client", lambda self: attempts.append(1) or original(self))
    trigger = ClusterWatchTrigger(kubernetes_conn_id="no_such_conn", state_file=str(tmp_path / "w.json"),
                                  retry_interval=0.05, max_backoff=0.2)
    _keeps_running(trigger, until=lambda: len(trigger_log) >= 3)
    assert len(attempts) >= 3 and len(trigger_log) >= 3
    assert "no cluster is configured for connection 'no_such_conn'" in trigger_log[0] and "=" * 78 in trigger_log[0]


def test_a_cluster_that_does_not_answer_is_retried_not_a_crash(trigger_log, tmp_path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "x"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}]}))
    trigger = ClusterWatchTrigger(kubeconfig=str(kubeconfig), state_file=str(tmp_path / "w.json"),
                                  retry_interval=0.05, max_backoff=0.2)
    _keeps_running(trigger, until=lambda: len(trigger_log) >= 2)
    assert len(trigger_log) >= 2 and all("does not answer" in line and str(kubeconfig) in line for line in trigger_log)


# --- against the real API server ----------------------------------------------------------------

def manifests(app: str, ns: str) -> list[dict]:
    labels = {LABEL_APP: app}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns, "labels": labels},
         "data": {"color": "blue"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns, "labels": labels},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}},
    ]


def kubectl_edit(cluster: Cluster, obj: dict, patch: dict) -> None:
    cluster.request("PATCH", cluster.object_path(obj), query=[("fieldManager", "kubectl-edit")], body=patch,
                    content_type="application/strategic-merge-patch+json")


class Running:
    """The trigger's ``run()`` in the background; its payloads collected with their arrival time."""

    def __init__(self, trigger: ClusterWatchTrigger, state: Path) -> None:
        self.trigger, self.state, self.events = trigger, state, []

    async def __aenter__(self) -> Running:
        self.task = asyncio.ensure_future(self._collect())
        deadline = time.monotonic() + 30
        # every kind listed (and its position saved): from here on no change can be missed
        while len(self._saved_kinds()) < len(PRUNE_KINDS):
            assert time.monotonic() < deadline, "the trigger did not start watching within 30 s"
            assert not self.task.done(), self.task.exception()
            await asyncio.sleep(0.05)
        return self

    def _saved_kinds(self) -> dict:
        try:
            return json.loads(self.state.read_text())["kinds"]
        except (FileNotFoundError, ValueError):
            return {}

    async def _collect(self) -> None:
        async for event in self.trigger.run():
            self.events.append((time.monotonic(), event.payload))

    async def __aexit__(self, *exc) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def wait(self, count: int, timeout: float) -> list:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.events


@pytest.fixture
def app_objects(k8s_client, k8s_namespace):
    from include.gitops import history

    app = f"tw-{secrets.token_hex(3)}"
    cluster = Cluster(k8s_client)
    objs = [cluster.apply(o) for o in manifests(app, k8s_namespace)]
    history.record(history.HistoryEntry(app=app, revision=SHA, result="Succeeded", repo_url="file:///tmp/manifests.git",
                                        path=f"apps/{app}", requested="main"))
    return app, cluster, objs


@pytest.mark.k8s
def test_kubectl_edit_becomes_a_cluster_drift_event_the_sync_accepts(kubeconfig, app_objects, tmp_path) -> None:
    from include.gitops.request import resolve

    app, cluster, (cm, deploy) = app_objects
    state = tmp_path / "w.json"
    trigger = ClusterWatchTrigger(kubeconfig=kubeconfig, app=app, self_heal=True, state_file=str(state))

    async def scenario():
        async with Running(trigger, state) as running:
            start = time.monotonic()
            await asyncio.to_thread(kubectl_edit, cluster, deploy, {"spec": {"template": {"spec": {
                "containers": [{"name": "web", "image": "nginx:1.28"}]}}}})
            events = await running.wait(1, timeout=5)
            return (events[0][0] - start if events else float("inf")), list(running.events)

    latency, events = asyncio.run(scenario())
    print(f"kubectl edit -> cluster_drift trigger event: {latency:.2f} s")
    assert latency <= 5 and len(events) == 1
    payload = events[0][1]
    drift = ClusterDrift.from_extra(payload)
    assert (drift.app, drift.status, drift.source, drift.sha, drift.revision) == (app, "OutOfSync", "watch", SHA, "main")
    assert [(r["resource"].split("/", 2)[1], r["fields"], r["by"]) for r in drift.resources] == [
        ("Deployment", ["spec.template.spec.containers[name=web].image"], ["kubectl-edit"])]
    # The Asset event an AssetWatcher makes wraps the payload; the sync takes the app's last revision
    # back and, as self_heal is on, forces its fields back.
    out = resolve({"app": app}, {"cluster_drift": [{"from_trigger": True, "payload": payload}]})
    assert not out.skip
    assert (out.request.app, out.request.revision, out.request.repo_url) == (app, SHA, "file:///tmp/manifests.git")
    assert out.request.self_heal and out.request.force


@pytest.mark.k8s
def test_a_restarted_trigger_reports_what_changed_while_it_was_stopped_once(kubeconfig, app_objects, tmp_path) -> None:
    app, cluster, (cm, deploy) = app_objects
    state = tmp_path / "w.json"
    first = ClusterWatchTrigger(kubeconfig=kubeconfig, app=app, state_file=str(state))

    async def run_first():
        async with Running(first, state) as running:
            await asyncio.to_thread(kubectl_edit, cluster, cm, {"data": {"color": "red"}})
            await running.wait(1, timeout=5)
            await asyncio.sleep(0.3)
            return list(running.events)

    before = asyncio.run(run_first())
    assert [r["resource"].split("/")[1] for r in before[0][1]["resources"]] == ["ConfigMap"] and len(before) == 1
    cluster.delete(deploy)  # while no trigger runs

    path, kwargs = first.serialize()
    again = ClusterWatchTrigger(**kwargs)

    async def run_again():
        async with Running(again, state) as running:
            await running.wait(1, timeout=5)
            await asyncio.sleep(2)  # the old ConfigMap edit would be reported by now
            return list(running.events)

    after = asyncio.run(run_again())
    assert len(after) == 1
    assert [(r["resource"].split("/")[1], r["change"]) for r in after[0][1]["resources"]] == [("Deployment", "deleted")]
    assert after[0][1]["counts"] == {"Missing": 1}
