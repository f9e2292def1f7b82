"""Diff cases driven by ``testdata/diff/<case>-config.yaml`` / ``<case>-live.yaml`` pairs.

The config file's first line says what to expect: ``# expect: <Status> [json pointers...]``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.gitops.compare import merge_order
from include.gitops.diff import compare, diff_app, diff_resource
from include.gitops.types import LABEL_APP, ResourceKey, SyncStatus

TESTDATA = Path(__file__).parent / "testdata"


def expectation(path: Path) -> str:
    """The text after ``# expect:`` in a fixture file."""
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# expect:' line")


CASES = sorted(p.name[: -len("-config.yaml")] for p in (TESTDATA / "diff").glob("*-config.yaml"))


def load(name: str) -> dict:
    return yaml.safe_load((TESTDATA / "diff" / name).read_text())


@pytest.mark.parametrize("case", CASES)
def test_diff_case(case: str) -> None:
    config_path = TESTDATA / "diff" / f"{case}-config.yaml"
    status, *paths = expectation(config_path).split()
    result = diff_resource(load(f"{case}-config.yaml"), load(f"{case}-live.yaml"))
    assert result.status == SyncStatus(status), f"{case}: {result.status} {result.paths}\n{result.diff}"
    assert sorted(result.paths) == sorted(paths)
    if result.status == SyncStatus.OUT_OF_SYNC:
        assert result.diff.startswith("--- live/")
        assert all(p in result.message for p in paths[:5])


def test_secret_values_never_reach_the_diff_text() -> None:
    result = diff_resource(load("secret-changed-config.yaml"), load("secret-changed-live.yaml"))
    assert "s3cret" not in result.diff and "czNjcmV0" not in result.diff and "aHVudGVyMg" not in result.diff
    assert "++++++++" in result.diff


def test_missing_when_not_live() -> None:
    result = diff_resource(load("configmap-synced-config.yaml"), None)
    assert result.status == SyncStatus.MISSING
    assert "+data:" in result.diff


def test_server_side_mode_compares_in_full() -> None:
    desired = load("configmap-synced-config.yaml")
    live = {**load("configmap-synced-live.yaml"), "data": {"color": "blue", "extra": "x"}}
    # local (subset) mode: a field only the cluster has is not ours
    assert diff_resource(desired, live).status == SyncStatus.SYNCED
    # server-side mode: the dry-run result lacks it, so a sync would remove it: drift
    predicted = {**desired, "data": {"color": "blue"}}
    result = diff_resource(desired, live, predicted=predicted)
    assert result.status == SyncStatus.OUT_OF_SYNC and result.paths == ["/data/extra"]


def test_compare_null_in_git_equals_absent() -> None:
    assert compare({"a": None, "b": {}}, {}, subset=True) == []
    assert compare({"a": 1}, {"a": 1, "b": 2}, subset=False) == ["/b"]


def test_app_diff_extraneous_only_with_our_label() -> None:
    desired = [load("configmap-synced-config.yaml")]
    live = {ResourceKey.of(desired[0]): load("configmap-synced-live.yaml")}
    ours = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "demo", "labels": {LABEL_APP: "shop"}}}
    other_app = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "demo", "labels": {LABEL_APP: "other"}}}
    result = diff_app("shop", desired, live, owned=[ours, other_app])
    assert result.status == SyncStatus.OUT_OF_SYNC
    assert [r.key.name for r in result.by_status(SyncStatus.EXTRANEOUS)] == ["old"]
    assert result.counts() == {"Synced": 1, "OutOfSync": 0, "Missing": 0, "Extraneous": 1}
    assert "Extraneous ConfigMap demo/old" in result.summary()
    assert result.resources[0].status == SyncStatus.EXTRANEOUS  # problems first
    assert diff_app("shop", desired, live).status == SyncStatus.SYNCED


# --- the server's semantics in the local pass (each rule is also a real-server case in testdata/drift) ---

def owned(obj: dict, fields: dict, *, manager: str = "airflow-delivery", operation: str = "Apply") -> dict:
    """``obj`` with one more managedFields entry."""
    meta = obj.setdefault("metadata", {})
    meta.setdefault("managedFields", []).append(
        {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": fields})
    return obj


def cm(data: dict, **meta) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "demo", **meta}, "data": data}


def deployment(containers: list, **spec) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
            "spec": {**spec, "template": {"spec": {"containers": containers}}}}


def test_a_field_removed_from_git_is_drift_only_while_we_alone_own_it() -> None:
    ours = {"f:data": {"f:color": {}, "f:size": {}}}
    live = owned(cm({"color": "blue", "size": "3"}), ours)
    assert diff_resource(cm({"color": "blue"}), live).paths == ["/data/size"]
    co_owned = owned(owned(cm({"color": "blue", "size": "3"}), ours), {"f:data": {"f:size": {}}}, manager="team-b")
    assert diff_resource(cm({"color": "blue"}), co_owned).status == SyncStatus.SYNCED
    theirs = owned(owned(cm({"color": "blue", "size": "3"}), {"f:data": {"f:color": {}}}), {"f:data": {"f:size": {}}},
                   manager="kubectl-edit", operation="Update")
    assert diff_resource(cm({"color": "blue"}), theirs).status == SyncStatus.SYNCED
    # another field manager's Apply entry is not ours
    assert diff_resource(cm({"color": "blue"}), live, manager="someone-else").status == SyncStatus.SYNCED


def test_list_items_match_by_merge_key_not_by_length() -> None:
    desired = deployment([{"name": "web", "image": "nginx", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]}])
    live = deployment([
        {"name": "proxy", "image": "envoy"},
        {"name": "web", "image": "nginx", "env": [{"name": "TRACE", "value": "1"}, {"name": "A", "value": "1"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090, "protocol": "TCP"}]},
    ])
    assert diff_resource(desired, live).status == SyncStatus.SYNCED
    live["spec"]["template"]["spec"]["containers"][1]["env"][1]["value"] = "2"
    # the live index names the item: the live object is what a reader looks at
    assert diff_resource(desired, live).paths == ["/spec/template/spec/containers/1/env/1/value"]


def test_an_item_we_alone_own_goes_an_item_another_manager_also_owns_stays() -> None:
    ours = {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:name": {}}, 'k:{"name":"debug"}': {".": {}, "f:name": {}}}}}}}
    live = owned(deployment([{"name": "web"}, {"name": "debug"}]), ours)
    assert diff_resource(deployment([{"name": "web"}]), live).paths == ["/spec/template/spec/containers/1"]
    kept = owned(live, {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"debug"}': {".": {}, "f:name": {}}}}}}},
                 manager="team-b")
    assert diff_resource(deployment([{"name": "web"}]), kept).status == SyncStatus.SYNCED


def test_atomic_lists_compare_item_by_item() -> None:
    assert compare({"args": ["a"]}, {"args": ["a", "b"]}, subset=True) == ["/args"]
    assert compare({"args": ["a", "b"]}, {"args": ["a", "c"]}, subset=True) == ["/args/1"]


def test_a_new_item_is_named_where_the_sync_puts_it() -> None:
    assert merge_order(["proxy", "web"], ["metrics", "web"]) == ["proxy", "metrics", "web"]
    assert merge_order(["side", "web"], ["web", "new"]) == ["side", "web", "new"]
    assert merge_order(["a", "b"], ["b", "a"]) == ["b", "a"]
    desired = deployment([{"name": "metrics"}, {"name": "web"}])
    live = deployment([{"name": "proxy"}, {"name": "web"}])
    assert diff_resource(desired, live).paths == ["/spec/template/spec/containers/1"]


def test_quantities_compare_by_value_where_the_schema_has_a_quantity() -> None:
    resources = {"limits": {"cpu": 0.2, "memory": "1024Mi"}, "requests": {"memory": "1e3", "cpu": 1}}
    live = {"limits": {"cpu": "200m", "memory": "1Gi"}, "requests": {"memory": "1k", "cpu": "1"}}
    desired = deployment([{"name": "web", "resources": resources}])
    assert diff_resource(desired, deployment([{"name": "web", "resources": live}])).status == SyncStatus.SYNCED
    live["limits"]["cpu"] = "300m"
    assert diff_resource(desired, deployment([{"name": "web", "resources": live}])).paths == [
        "/spec/template/spec/containers/0/resources/limits/cpu"]
    # a ConfigMap value is text, and a custom resource's field is what its CRD says: no rewrite
    assert diff_resource(cm({"m": "1024Mi"}), cm({"m": "1Gi"})).status == SyncStatus.OUT_OF_SYNC
    assert compare({"resources": {"limits": {"cpu": "0.2"}}}, {"resources": {"limits": {"cpu": "200m"}}},
                   subset=True, group="example.com", kind="Gadget") == ["/resources/limits/cpu"]


def test_empty_values_are_absent_and_applied_zeros_too() -> None:
    desired = deployment([{"name": "web", "args": [], "workingDir": "", "env": []}], minReadySeconds=0)
    live = deployment([{"name": "web"}])
    # without managedFields a zero may be a pointer field the server keeps: not known to be stored as absent
    assert diff_resource(desired, live).paths == ["/spec/minReadySeconds"]
    ours = owned(live, {"f:spec": {"f:minReadySeconds": {}}})
    assert diff_resource(desired, ours).status == SyncStatus.SYNCED


def test_a_removed_field_at_its_server_default_is_not_drift() -> None:
    ours = {"f:spec": {"f:replicas": {}}}
    assert diff_resource(deployment([{"name": "web"}]), owned(deployment([{"name": "web"}], replicas=1), ours)).status == SyncStatus.SYNCED
    assert diff_resource(deployment([{"name": "web"}]), owned(deployment([{"name": "web"}], replicas=3), ours)).paths == ["/spec/replicas"]


def test_set_lists_and_lists_typed_by_managed_fields() -> None:
    live = owned(cm({}, finalizers=["example.com/ours", "example.com/theirs"]), {"f:metadata": {"f:finalizers": {'v:"example.com/ours"': {}}}})
    assert diff_resource(cm({}, finalizers=["example.com/ours"]), live).status == SyncStatus.SYNCED
    assert diff_resource(cm({}), live).paths == ["/metadata/finalizers/0"]
    # a custom resource's map list: its keys come from the ownership of its items
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "demo"},
              "spec": {"parts": [{"id": "a", "size": 1}, {"id": "b", "size": 2}]}}
    owned(gadget, {"f:spec": {"f:parts": {'k:{"id":"a"}': {".": {}, "f:id": {}, "f:size": {}}}}})
    owned(gadget, {"f:spec": {"f:parts": {'k:{"id":"b"}': {".": {}, "f:id": {}, "f:size": {}}}}}, manager="team-b")
    desired = {**gadget, "metadata": {"name": "g", "namespace": "demo"}, "spec": {"parts": [{"id": "a", "size": 1}]}}
    assert diff_resource(desired, gadget).status == SyncStatus.SYNCED


def test_a_number_is_not_a_string() -> None:
    # the server keeps the type it was given ("80" and 80 are two values of an int-or-string field)
    assert compare({"port": "80"}, {"port": 80}, subset=True) == ["/port"]
    assert compare({"replicas": 2.0}, {"replicas": 2}, subset=True) == []


def test_a_null_in_git_is_the_zero_value() -> None:
    assert diff_resource(cm({"a": "1", "b": None}), cm({"a": "1", "b": ""})).status == SyncStatus.SYNCED
    assert diff_resource(cm({"a": "1", "b": None}), cm({"a": "1", "b": "2"})).paths == ["/data/b"]
    assert diff_resource(deployment([{"name": "web"}], replicas=None), deployment([{"name": "web"}], replicas=1)).status == SyncStatus.SYNCED


def test_the_shown_live_side_keeps_the_removed_field() -> None:
    live = owned(cm({"color": "blue", "size": "3"}), {"f:data": {"f:color": {}, "f:size": {}}})
    assert "-  size: '3'" in diff_resource(cm({"color": "blue"}), live).diff
