"""Per-object apply policy (``delivery.io/apply-policy``) against a real API server, and its validation."""

from __future__ import annotations

import copy
import secrets

import pytest

from include.gitops import sync
from include.gitops.apply import ApplyFailed
from include.gitops.apply_policy import ANNOTATION_APPLY_POLICY, FLUX_SSA, ApplyPolicy, apply_policy
from include.gitops.client import Cluster
from include.gitops.types import ResourceKey
from include.gitops.validate import ValidationError, validate


def cm(name: str, color: str, policy: str | None = None, ns: str = "demo") -> dict:
    meta = {"name": name, "namespace": ns}
    if policy:
        meta["annotations"] = {ANNOTATION_APPLY_POLICY: policy}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"color": color}}


def job(ns: str, image: str, policy: str | None) -> dict:
    meta = {"name": "migrate", "namespace": ns}
    if policy:
        meta["annotations"] = {ANNOTATION_APPLY_POLICY: policy}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
                                                              "containers": [{"name": "m", "image": image}]}}}}


def test_policy_names_and_a_bad_value_fail_validation() -> None:
    assert apply_policy(cm("a", "blue")) is ApplyPolicy.OVERRIDE
    assert apply_policy(cm("a", "blue", "ifnotpresent")) is ApplyPolicy.IF_NOT_PRESENT
    flux = cm("a", "blue")
    flux["metadata"]["annotations"] = {FLUX_SSA: "Merge"}
    assert apply_policy(flux) is ApplyPolicy.OVERRIDE  # Flux's Merge is our Override
    problems = validate([cm("a", "blue", "Sometimes")])
    assert len(problems) == 1
    text = str(ValidationError(problems))
    assert "ConfigMap" in text and "'Sometimes' is not an apply policy" in text and "IfNotPresent" in text


def prepared(app: str, objects: list[dict], cluster: Cluster, ns: str) -> list[dict]:
    desired = sync.prepare(copy.deepcopy(objects), app=app, namespace=ns, kinds=cluster.kinds())
    sync.check(desired, cluster)
    return desired


@pytest.mark.k8s
def test_if_not_present_is_created_once_and_ignore_is_never_touched(k8s_client, k8s_namespace) -> None:
    cluster, ns, app = Cluster(k8s_client), k8s_namespace, f"app-{secrets.token_hex(3)}"
    first = sync.sync(cluster, app, prepared(app, [cm("seed", "blue", "IfNotPresent", ns), cm("doc", "blue", "Ignore", ns)],
                                           cluster, ns), prune_enabled=True)
    assert [(r.key.name, r.action) for r in first.applied] == [("seed", "created")]
    assert cluster.get(ResourceKey("", "ConfigMap", ns, "doc")) is None  # Ignore: never applied
    # someone rotates the seed by hand; Git changes it too: IfNotPresent keeps the live one
    cluster.request("PATCH", f"/api/v1/namespaces/{ns}/configmaps/seed", body={"data": {"color": "rotated"}},
                    content_type="application/merge-patch+json")
    second = sync.sync(cluster, app, prepared(app, [cm("seed", "green", "IfNotPresent", ns)], cluster, ns),
                       prune_enabled=True)
    assert second.applied == [] and ResourceKey("", "ConfigMap", ns, "seed") in second.plan.unchanged
    drift = sync.compute_diff(cluster, app, prepared(app, [cm("seed", "green", "IfNotPresent", ns),
                                                          cm("doc", "blue", "Ignore", ns)], cluster, ns), server_side=False)
    assert {r.key.name: r.status.value for r in drift.diff.resources} == {"seed": "Synced", "doc": "Synced"}
    assert cluster.get(ResourceKey("", "ConfigMap", ns, "seed"))["data"] == {"color": "rotated"}
    # an object of ours marked Ignore stays when it leaves Git, even with prune
    kept = cm("kept", "blue", None, ns)
    sync.sync(cluster, app, prepared(app, [kept], cluster, ns))
    cluster.request("PATCH", f"/api/v1/namespaces/{ns}/configmaps/kept", body={"metadata": {"annotations": {
        ANNOTATION_APPLY_POLICY: "Ignore"}}}, content_type="application/merge-patch+json")
    third = sync.sync(cluster, app, prepared(app, [cm("seed", "green", "IfNotPresent", ns)], cluster, ns),
                      prune_enabled=True)
    assert ("kept", "protected") in [(r.key.name, r.action) for r in third.pruned]
    assert cluster.get(ResourceKey("", "ConfigMap", ns, "kept")) is not None


@pytest.mark.k8s
def test_replace_recreates_an_object_whose_immutable_field_changed(k8s_client, k8s_namespace) -> None:
    cluster, ns, app = Cluster(k8s_client), k8s_namespace, f"app-{secrets.token_hex(3)}"
    sync.sync(cluster, app, prepared(app, [job(ns, "busybox:1.36", None)], cluster, ns))
    key = ResourceKey("batch", "Job", ns, "migrate")
    uid = cluster.get(key)["metadata"]["uid"]
    # Override (the default): validate's dry-run stops the changed template before anything is applied
    with pytest.raises(ValidationError, match="field is immutable"):
        prepared(app, [job(ns, "busybox:1.37", None)], cluster, ns)
    # ... and the apply itself refuses it with a 422 that a retry cannot fix
    with pytest.raises(ApplyFailed) as refused:
        sync.sync(cluster, app, sync.prepare([job(ns, "busybox:1.37", None)], app=app, namespace=ns,
                                             kinds=cluster.kinds()))
    assert refused.value.refused and refused.value.failed[0].status == 422
    # Replace: deleted and created again with the new template
    done = sync.sync(cluster, app, prepared(app, [job(ns, "busybox:1.37", "Replace")], cluster, ns))
    assert [(r.key.name, r.action) for r in done.applied] == [("migrate", "replaced")]
    live = cluster.get(key)
    assert live["metadata"]["uid"] != uid
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"


def deployment(ns: str, image: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


@pytest.mark.k8s
def test_respect_ignore_differences_keeps_the_ignored_live_value_at_apply(k8s_client, k8s_namespace) -> None:
    """An autoscaler owns /spec/replicas: with RespectIgnoreDifferences a sync of a new image keeps
    its 5 replicas; without it the same sync (force) puts Git's 2 back."""
    from include.gitops.ignore import parse_rules

    cluster, ns, app = Cluster(k8s_client), k8s_namespace, f"app-{secrets.token_hex(3)}"
    key = ResourceKey("apps", "Deployment", ns, "web")
    rules = parse_rules([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}])

    def scale_to_5() -> None:
        cluster.request("PATCH", f"/apis/apps/v1/namespaces/{ns}/deployments/web", body={"spec": {"replicas": 5}},
                        query=[("fieldManager", "hpa-controller")], content_type="application/merge-patch+json")

    sync.sync(cluster, app, prepared(app, [deployment(ns, "nginx:1.27")], cluster, ns))
    scale_to_5()
    sync.sync(cluster, app, prepared(app, [deployment(ns, "nginx:1.28")], cluster, ns), ignore=rules, force=True,
              respect_ignore_differences=True)
    live = cluster.get(key)
    assert live["spec"]["replicas"] == 5 and live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"

    sync.sync(cluster, app, prepared(app, [deployment(ns, "nginx:1.29")], cluster, ns), ignore=rules, force=True)
    live = cluster.get(key)
    assert live["spec"]["replicas"] == 2 and live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.29"
