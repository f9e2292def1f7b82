"""The GitOps engine against a real Kubernetes API server (the local control plane or KUBECONFIG).

Every test works in its own namespace (``k8s_namespace``) and, for cluster-scoped objects, with
names unique to the test, so tests never see each other's objects.
"""

from __future__ import annotations

import copy
import secrets
from pathlib import Path

import pytest

from include.common.errors import InputError
from include.gitops import sync
from include.gitops.apply import ApplyFailed
from include.gitops.client import ApplyConflict, Cluster
from include.gitops.health import HealthCode
from include.gitops.ignore import parse_rules
from include.gitops.render import parse_manifests
from include.gitops.types import ANNOTATION_PRUNE, ANNOTATION_SYNC_WAVE, ResourceKey, SyncStatus
from include.gitops.wait import resource_health

pytestmark = pytest.mark.k8s

BAD = Path(__file__).parent / "testdata" / "bad"


@pytest.fixture
def cluster(k8s_client) -> Cluster:
    return Cluster(k8s_client)


def app_name() -> str:
    return f"app-{secrets.token_hex(3)}"


def manifests(ns: str, suffix: str) -> list[dict]:
    """A small app: CRD + custom resource, ConfigMap, Secret, Deployment, Service, Job in wave 1."""
    group = f"t{suffix}.delivery.io"
    return [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": f"gadgets.{group}"},
         "spec": {"group": group, "scope": "Namespaced",
                  "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
                  "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                      "type": "object", "properties": {"spec": {"type": "object", "properties": {
                          "color": {"type": "string"}, "size": {"type": "integer", "default": 1}}}}}}}]}},
        {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1", "namespace": ns}, "spec": {"color": "blue"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
         "data": {"color": "blue", "size": "3"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns}, "type": "Opaque",
         "stringData": {"password": "s3cret"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 80}]}},
        {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": "smoke", "namespace": ns, "annotations": {ANNOTATION_SYNC_WAVE: "1"}},
         "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                                                           "containers": [{"name": "t", "image": "busybox:1.36"}]}}}},
    ]


def prepared(app: str, objects: list[dict], cluster: Cluster, ns: str) -> list[dict]:
    desired = sync.prepare(copy.deepcopy(objects), app=app, namespace=ns, kinds=cluster.kinds())
    sync.check(desired, cluster)
    return desired


def snapshot(cluster: Cluster, ns: str) -> dict[str, str]:
    """name -> resourceVersion of everything we could have touched in ``ns``."""
    out = {}
    for api, kind in (("v1", "ConfigMap"), ("v1", "Secret"), ("apps/v1", "Deployment"), ("v1", "Service")):
        for obj in cluster.list(api, kind, namespace=ns):
            out[f"{kind}/{obj['metadata']['name']}"] = obj["metadata"]["resourceVersion"]
    return out


def statuses(result: sync.DiffResult) -> dict[str, str]:
    return {f"{r.key.kind}/{r.key.name}": r.status.value for r in result.diff.resources}


def test_fresh_sync_creates_everything_and_second_sync_is_a_no_op(cluster, k8s_namespace) -> None:
    app, suffix = app_name(), secrets.token_hex(3)
    desired = prepared(app, manifests(k8s_namespace, suffix), cluster, k8s_namespace)
    first = sync.sync(cluster, app, desired)
    assert [s.name for s in first.plan.steps] == ["namespaces and CRDs", "wave 0", "wave 1"]
    assert {r.action for r in first.applied} == {"created"}
    assert len(first.applied) == len(desired)
    for obj in desired:
        live = cluster.get(obj)
        assert live is not None, ResourceKey.of(obj).display
        assert live["metadata"]["labels"]["app.delivery.io/name"] == app
    # kinds no controller writes to (Jobs and Deployments get status updates when controllers run)
    quiet = [o for o in desired if o["kind"] in ("ConfigMap", "Secret", "Service", "Gadget")]
    before = {str(ResourceKey.of(o)): cluster.get(o)["metadata"]["resourceVersion"] for o in quiet}

    again = sync.compute_diff(cluster, app, desired)
    assert set(statuses(again).values()) == {"Synced"}, again.diff.summary()
    writes: list[tuple[str, str]] = []
    real_request = cluster.request

    def spy(method, path, **kwargs):
        if method in ("PATCH", "PUT", "POST", "DELETE") and ("dryRun", "All") not in (kwargs.get("query") or []):
            writes.append((method, path))
        return real_request(method, path, **kwargs)

    cluster.request = spy
    second = sync.sync(cluster, app, desired)
    assert second.applied == [] and second.plan.steps == []
    assert writes == []  # only reads and dry-runs
    after = {str(ResourceKey.of(o)): cluster.get(o)["metadata"]["resourceVersion"] for o in quiet}
    assert after == before

    health = resource_health(cluster, [ResourceKey.of(o) for o in desired])
    crd = next(k for k in health if k.kind == "CustomResourceDefinition")
    assert health[crd].code == HealthCode.HEALTHY
    web = next(k for k in health if k.kind == "Deployment")
    # without kube-controller-manager the Deployment never becomes Available: Progressing, never Healthy by mistake
    assert health[web].code in (HealthCode.PROGRESSING, HealthCode.HEALTHY)


def test_server_defaults_are_not_drift(cluster, k8s_namespace) -> None:
    app = app_name()
    desired = prepared(app, manifests(k8s_namespace, secrets.token_hex(3))[2:6], cluster, k8s_namespace)
    sync.sync(cluster, app, desired)
    web = cluster.get(ResourceKey("apps", "Deployment", k8s_namespace, "web"))
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"  # a server default
    assert web["spec"]["strategy"]["type"] == "RollingUpdate"
    svc = cluster.get(ResourceKey("", "Service", k8s_namespace, "web"))
    assert svc["spec"]["clusterIP"] and svc["spec"]["ports"][0]["protocol"] == "TCP"
    for server_side in (False, True):
        result = sync.compute_diff(cluster, app, desired, server_side=server_side)
        assert result.diff.status == SyncStatus.SYNCED, (server_side, result.diff.summary())


def test_manual_edit_is_found_field_by_field_and_self_heal_restores_it(cluster, k8s_namespace) -> None:
    app = app_name()
    desired = prepared(app, manifests(k8s_namespace, secrets.token_hex(3))[2:6], cluster, k8s_namespace)
    sync.sync(cluster, app, desired)
    # someone edits the cluster by hand (kubectl edit: an update by another field manager)
    cm_path = cluster.object_path(ResourceKey("", "ConfigMap", k8s_namespace, "settings"))
    cluster.request("PATCH", cm_path, query=[("fieldManager", "kubectl-edit")],
                    body={"data": {"color": "red"}}, content_type="application/merge-patch+json")
    web_path = cluster.object_path(ResourceKey("apps", "Deployment", k8s_namespace, "web"))
    cluster.request("PATCH", web_path, query=[("fieldManager", "kubectl-edit")],
                    body={"spec": {"replicas": 5}}, content_type="application/merge-patch+json")

    for server_side in (False, True):
        drift = sync.compute_diff(cluster, app, desired, server_side=server_side)
        by_name = {f"{r.key.kind}/{r.key.name}": r for r in drift.diff.resources}
        assert by_name["ConfigMap/settings"].status == SyncStatus.OUT_OF_SYNC
        assert by_name["ConfigMap/settings"].paths == ["/data/color"]
        assert "-  color: red" in by_name["ConfigMap/settings"].diff and "+  color: blue" in by_name["ConfigMap/settings"].diff
        assert by_name["Deployment/web"].paths == ["/spec/replicas"]
        assert by_name["Service/web"].status == SyncStatus.SYNCED

    # ignoreDifferences by the manager that made the edit hides exactly that drift
    ignored = sync.compute_diff(cluster, app, desired, ignore=parse_rules(
        [{"kind": "ConfigMap", "managedFieldsManagers": ["kubectl-edit"]},
         {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]))
    assert ignored.diff.status == SyncStatus.SYNCED, ignored.diff.summary()

    # without force our apply conflicts with the other manager's fields, and says so
    with pytest.raises(ApplyConflict):
        cluster.apply(desired[0])
    with pytest.raises(ApplyFailed, match="force=true"):
        sync.sync(cluster, app, desired)
    healed = sync.sync(cluster, app, desired, force=True)  # self-heal takes the fields back
    assert {f"{r.key.kind}/{r.key.name}" for r in healed.applied} == {"ConfigMap/settings", "Deployment/web"}
    assert cluster.get(ResourceKey("", "ConfigMap", k8s_namespace, "settings"))["data"]["color"] == "blue"
    assert cluster.get(ResourceKey("apps", "Deployment", k8s_namespace, "web"))["spec"]["replicas"] == 2
    assert sync.compute_diff(cluster, app, desired).diff.status == SyncStatus.SYNCED


def test_removed_from_git_is_pruned_only_with_prune_and_never_when_protected(cluster, k8s_namespace) -> None:
    app = app_name()
    cms = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": k8s_namespace}, "data": {"a": n}}
           for n in ("keep", "old", "protected")]
    cms[2]["metadata"]["annotations"] = {ANNOTATION_PRUNE: "false"}
    sync.sync(cluster, app, prepared(app, cms, cluster, k8s_namespace))
    # someone else's object with no label, and another app's object, in the same namespace
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unlabelled", "namespace": k8s_namespace}})
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "other-app", "namespace": k8s_namespace, "labels": {"app.delivery.io/name": "other"}}})
    only_keep = prepared(app, cms[:1], cluster, k8s_namespace)

    diff = sync.compute_diff(cluster, app, only_keep)
    assert {k: v for k, v in statuses(diff).items()} == {
        "ConfigMap/keep": "Synced", "ConfigMap/old": "Extraneous", "ConfigMap/protected": "Extraneous"}
    result = sync.sync(cluster, app, only_keep, prune_enabled=False)
    assert result.pruned == []
    names = {o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap", namespace=k8s_namespace)}
    assert {"keep", "old", "protected", "unlabelled", "other-app"} <= names

    result = sync.sync(cluster, app, only_keep, prune_enabled=True)
    assert sorted((r.key.name, r.action) for r in result.pruned) == [("old", "pruned"), ("protected", "protected")]
    names = {o["metadata"]["name"] for o in cluster.list("v1", "ConfigMap", namespace=k8s_namespace)}
    assert "old" not in names and {"keep", "protected", "unlabelled", "other-app"} <= names


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_manifest_stops_with_clear_message_and_cluster_is_unchanged(cluster, k8s_namespace, path: Path) -> None:
    app = app_name()
    good = prepared(app, manifests(k8s_namespace, secrets.token_hex(3))[2:4], cluster, k8s_namespace)
    sync.sync(cluster, app, good)
    before = snapshot(cluster, k8s_namespace)
    expected = next(line.split(":", 1)[1].strip() for line in path.read_text().splitlines() if line.startswith("# expect:"))
    changed = [{**good[0], "data": {"color": "green"}}]  # a valid change that must NOT be applied
    with pytest.raises(InputError) as info:
        bad = parse_manifests(path.read_text().replace("NAMESPACE", k8s_namespace), path.name)
        desired = sync.prepare(changed + bad, app=app, namespace=k8s_namespace, kinds=cluster.kinds())
        sync.check(desired, cluster)
        sync.sync(cluster, app, desired)  # never reached
    assert expected in str(info.value) and "Fix:" in str(info.value)
    assert snapshot(cluster, k8s_namespace) == before
    assert cluster.get(good[0])["data"]["color"] == "blue"


def test_rollback_to_the_previous_revision_restores_it(cluster, k8s_namespace, tmp_path) -> None:
    from include.common.git import commit_files, seed_bare_repo
    from include.gitops import history
    from include.gitops.render import render_revision

    app = app_name()
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: {k8s_namespace}}}\ndata: {{color: blue}}\n")
    url = f"file://{tmp_path / 'repo.git'}"
    rev1 = seed_bare_repo(src, tmp_path / "repo.git", "v1")
    rev2 = commit_files(url, "main", {"app/cm.yaml": (src / "app" / "cm.yaml").read_text().replace("blue", "red"),
                                      "app/extra.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: extra, namespace: {k8s_namespace}}}\n"},
                        "v2")

    def sync_revision(revision: str) -> None:
        rendered = render_revision(url, revision, "app", tmp_path / f"work-{revision[:7]}")
        desired = prepared(app, rendered.objects, cluster, k8s_namespace)
        result = sync.sync(cluster, app, desired, prune_enabled=True)
        history.record(history.HistoryEntry(app=app, revision=rendered.sha, result="Succeeded", health="Healthy", repo_url=url,
                                            path="app", resources=[str(ResourceKey.of(o)) for o in desired]))
        assert sync.compute_diff(cluster, app, desired).diff.status == SyncStatus.SYNCED, result

    sync_revision(rev1)
    sync_revision(rev2)
    key = ResourceKey("", "ConfigMap", k8s_namespace, "settings")
    assert cluster.get(key)["data"]["color"] == "red"
    target = history.rollback_target(app)
    assert target.revision == rev1
    sync_revision(target.revision)
    assert cluster.get(key)["data"]["color"] == "blue"
    assert cluster.get(ResourceKey("", "ConfigMap", k8s_namespace, "extra")) is None  # pruned: not in rev1


def test_sync_killed_mid_apply_and_retried_converges(cluster, k8s_namespace) -> None:
    app = app_name()
    desired = prepared(app, manifests(k8s_namespace, secrets.token_hex(3)), cluster, k8s_namespace)

    class Killed(BaseException):
        """Like SIGKILL of the worker: not an Exception, nothing catches it."""

    def kill_after_first_step(step, results):
        raise Killed(step.name)

    with pytest.raises(Killed):
        sync.sync(cluster, app, desired, after_step=kill_after_first_step)
    half = statuses(sync.compute_diff(cluster, app, desired))
    assert "Missing" in half.values() and "Synced" in half.values()  # really half-applied

    retry = sync.sync(cluster, app, desired)
    assert retry.plan.unchanged  # the part applied before the kill is not re-applied
    assert set(statuses(sync.compute_diff(cluster, app, desired)).values()) == {"Synced"}
