"""The cluster watch against a real API server: hand edits of owned fields become drift in seconds.

Each test uses its own app name and state file and watches only that app, so the session's
other tests (other namespaces, other apps) never show up in its events.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from pathlib import Path

import pytest

from include.gitops.client import Cluster
from include.gitops.sync import PRUNE_KINDS
from include.gitops.types import LABEL_APP
from include.gitops.watch import ClusterWatch
from include.gitops.watch_drift import Drift
from include.gitops.watch_state import WatchState

pytestmark = pytest.mark.k8s

IMAGE_FIELD = "spec.template.spec.containers[name=web].image"


def manifests(app: str, ns: str) -> list[dict]:
    """A ConfigMap and a Deployment as Git has them (no replicas: an HPA's or the default's)."""
    labels = {LABEL_APP: app}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns, "labels": labels},
         "data": {"color": "blue", "size": "3"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns, "labels": labels},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}},
    ]


def edit(cluster: Cluster, obj: dict, patch: dict, *, manager: str = "kubectl-edit", subresource: str = "") -> dict:
    """What ``kubectl edit`` sends: a strategic merge patch (an Update) under its own field manager."""
    path = cluster.object_path(obj) + (f"/{subresource}" if subresource else "")
    return cluster.request("PATCH", path, query=[("fieldManager", manager)], body=patch,
                           content_type="application/strategic-merge-patch+json")


class Running:
    """A watch running in the background, its drifts collected with the time they arrived."""

    def __init__(self, watch: ClusterWatch) -> None:
        self.watch = watch
        self.events: list[tuple[float, Drift]] = []

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self._collect())
        deadline = time.monotonic() + 30
        while self.watch.ready is None or not self.watch.ready.is_set():
            assert time.monotonic() < deadline, "the watch did not open within 30 s"
            assert not self.task.done(), self.task.exception()
            await asyncio.sleep(0.05)
        return self

    async def _collect(self) -> None:
        async for drift in self.watch.drifts():
            self.events.append((time.monotonic(), drift))

    async def __aexit__(self, *exc) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def wait(self, count: int, timeout: float) -> list[tuple[float, Drift]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.events


@pytest.fixture
def app() -> str:
    return f"w-{secrets.token_hex(3)}"


@pytest.fixture
def cluster(k8s_client) -> Cluster:
    return Cluster(k8s_client)


@pytest.fixture
def applied(cluster: Cluster, app: str, k8s_namespace: str) -> list[dict]:
    objs = manifests(app, k8s_namespace)
    for obj in objs:
        cluster.apply(obj)
    return objs


def new_watch(cluster: Cluster, app: str, state: Path) -> ClusterWatch:
    return ClusterWatch(cluster, PRUNE_KINDS, state_path=state, app=app, debounce=1.0)


def only(events: list[tuple[float, Drift]]) -> dict[str, dict]:
    """The one drift's resources by kind/name."""
    assert len(events) == 1, [d for _, d in events]
    return {f"{r.key.kind}/{r.key.name}": r.as_dict() for r in events[0][1].resources}


def test_kubectl_edit_of_an_owned_field_is_one_drift_within_5_s(cluster, app, applied, tmp_path):
    cm, deploy = applied

    async def scenario():
        async with Running(new_watch(cluster, app, tmp_path / "w.json")) as running:
            start = time.monotonic()
            await asyncio.to_thread(edit, cluster, deploy, {"spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1.28"}]}}}})
            events = await running.wait(1, timeout=5)
            latency = events[0][0] - start if events else float("inf")
            await asyncio.sleep(2)  # a second event for the same edit would arrive by now
            return latency, list(running.events)

    latency, events = asyncio.run(scenario())
    print(f"kubectl edit -> drift: {latency:.2f} s")
    assert latency <= 5
    assert events[0][1].app == app
    assert only(events) == {"Deployment/web": {
        "resource": f"apps/Deployment/{deploy['metadata']['namespace']}/web", "display": f"Deployment.apps "
        f"{deploy['metadata']['namespace']}/web", "change": "modified", "fields": [IMAGE_FIELD], "by": ["kubectl-edit"]}}


def test_a_burst_of_edits_is_one_drift_per_app(cluster, app, applied, tmp_path):
    cm, deploy = applied

    async def scenario():
        async with Running(new_watch(cluster, app, tmp_path / "w.json")) as running:
            await asyncio.to_thread(edit, cluster, cm, {"data": {"color": "red"}})
            await asyncio.to_thread(edit, cluster, cm, {"data": {"size": "4"}})
            await asyncio.to_thread(edit, cluster, deploy, {"metadata": {"labels": {LABEL_APP: None}}})
            await running.wait(1, timeout=5)
            await asyncio.sleep(2)
            return list(running.events)

    resources = only(asyncio.run(scenario()))
    assert resources["ConfigMap/settings"]["fields"] == ["data.color", "data.size"]
    # the label edit takes the object out of the watch's selector: still drift, not a delete
    assert resources["Deployment/web"]["change"] == "modified"
    assert resources["Deployment/web"]["fields"] == [f'metadata.labels["{LABEL_APP}"]']


def test_changes_to_fields_we_do_not_own_are_not_drift(cluster, app, applied, tmp_path):
    cm, deploy = applied

    async def scenario():
        async with Running(new_watch(cluster, app, tmp_path / "w.json")) as running:
            await asyncio.to_thread(edit, cluster, deploy, {"metadata": {"annotations": {"team": "web"}}}, manager="kubectl-annotate")
            await asyncio.to_thread(edit, cluster, deploy, {"spec": {"replicas": 3}}, manager="horizontal-pod-autoscaler")
            await asyncio.to_thread(edit, cluster, deploy, {"status": {"observedGeneration": 2, "replicas": 3}},
                                    manager="deployment-controller", subresource="status")
            await asyncio.sleep(1.1)  # our write stamps have a one-second resolution
            # a sync that drops a key Git no longer has: our own field set shrinks, which is not drift
            await asyncio.to_thread(cluster.apply, {**cm, "data": {"color": "green"}})
            await asyncio.sleep(3)
            quiet = list(running.events)
            # proof that the watch was listening all along
            await asyncio.to_thread(edit, cluster, cm, {"data": {"color": "red"}})
            await running.wait(1, timeout=5)
            return quiet, list(running.events)

    quiet, events = asyncio.run(scenario())
    assert quiet == []
    resources = only(events)
    assert list(resources) == ["ConfigMap/settings"] and resources["ConfigMap/settings"]["fields"] == ["data.color"]


def test_a_field_taken_is_reported_once_until_self_heal_takes_it_back(cluster, app, applied, tmp_path):
    cm, _ = applied

    async def scenario():
        async with Running(new_watch(cluster, app, tmp_path / "w.json")) as running:
            await asyncio.to_thread(edit, cluster, cm, {"data": {"color": "red"}})
            await running.wait(1, timeout=5)
            # kubectl-edit owns the field now: editing it again changes nothing we own
            await asyncio.to_thread(edit, cluster, cm, {"data": {"color": "green"}})
            await asyncio.sleep(2.5)
            after_second = len(running.events)
            await asyncio.to_thread(cluster.apply, cm, force=True)  # what a self-heal sync does
            await asyncio.sleep(2.5)
            after_heal = len(running.events)
            await asyncio.to_thread(edit, cluster, cm, {"data": {"color": "red"}})
            await running.wait(2, timeout=5)
            return after_second, after_heal, list(running.events)

    after_second, after_heal, events = asyncio.run(scenario())
    assert (after_second, after_heal, len(events)) == (1, 1, 2)
    assert [r.change.fields for r in events[1][1].resources] == [("data.color",)]


def test_delete_of_an_owned_object_is_drift(cluster, app, applied, tmp_path):
    cm, _ = applied

    async def scenario():
        async with Running(new_watch(cluster, app, tmp_path / "w.json")) as running:
            await asyncio.to_thread(cluster.delete, cm)
            return await running.wait(1, timeout=5)

    assert only(asyncio.run(scenario()))["ConfigMap/settings"]["change"] == "deleted"


def test_restart_reports_edits_made_while_stopped_and_not_old_ones(cluster, app, applied, tmp_path):
    cm, deploy = applied
    state = tmp_path / "w.json"

    async def first():
        async with Running(new_watch(cluster, app, state)) as running:
            await asyncio.to_thread(edit, cluster, cm, {"data": {"color": "red"}})
            await running.wait(1, timeout=5)
            await asyncio.sleep(0.5)
            return list(running.events)

    async def second():
        async with Running(new_watch(cluster, app, state)) as running:
            await running.wait(1, timeout=5)
            await asyncio.sleep(2)
            return list(running.events)

    assert list(only(asyncio.run(first()))) == ["ConfigMap/settings"]
    edit(cluster, deploy, {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}})
    assert only(asyncio.run(second()))["Deployment/web"]["fields"] == [IMAGE_FIELD]


@pytest.fixture
def gadget(cluster: Cluster, app: str, k8s_namespace: str):
    """A custom resource we own, of a CRD made for the test: its watch cache starts now."""
    group = f"t{secrets.token_hex(3)}.delivery.io"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"gadgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced", "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
    cluster.apply(crd)
    cluster.wait_established([crd["metadata"]["name"]])
    obj = cluster.apply({"apiVersion": f"{group}/v1", "kind": "Gadget",
                         "metadata": {"name": "g1", "namespace": k8s_namespace, "labels": {LABEL_APP: app}},
                         "spec": {"color": "blue"}})
    yield obj
    cluster.delete(crd)


def test_a_resource_version_the_server_no_longer_has_is_410_then_a_relist_that_reports_the_gap(
        cluster, app, applied, gadget, tmp_path):
    cm, _ = applied
    state = tmp_path / "w.json"
    gadget_kind = f"{gadget['apiVersion']}/Gadget"
    kinds = [*PRUNE_KINDS, (gadget["apiVersion"], "Gadget")]

    async def baseline():
        async with Running(ClusterWatch(cluster, kinds, state_path=state, app=app)):
            await asyncio.sleep(0.5)

    asyncio.run(baseline())
    # While the watch is down: one edit of each kind.
    cluster.request("PATCH", cluster.object_path(gadget), query=[("fieldManager", "kubectl-edit")],
                    body={"spec": {"color": "red"}}, content_type="application/merge-patch+json")
    cluster.delete(cm)
    # As after an outage that outlived the server's history (or a restart of the API server):
    # the saved position is older than where the server's watch cache for this kind starts,
    # so the real server answers 410 Gone ("too old resource version"). Built-in kinds keep
    # their saved position and resume from it.
    saved = WatchState.load(state)
    assert gadget_kind in saved.kinds
    saved.kinds[gadget_kind] = "1"
    saved.save(state)
    watch = ClusterWatch(cluster, kinds, state_path=state, app=app)

    async def after_gap():
        async with Running(watch) as running:
            await running.wait(1, timeout=5)
            await asyncio.sleep(2)
            return list(running.events)

    resources = only(asyncio.run(after_gap()))
    assert watch.relists == 1  # the Gadget watch was refused with 410, the resumed ones were not
    assert resources["Gadget/g1"]["fields"] == ["spec.color"] and resources["Gadget/g1"]["by"] == ["kubectl-edit"]
    assert resources["ConfigMap/settings"]["change"] == "deleted"
    assert json.loads(state.read_text())["kinds"][gadget_kind] != "1"  # the relist moved the position on
