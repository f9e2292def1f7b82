"""Field ownership as paths, and the drift rule on managedFields the way the API server writes them."""

from __future__ import annotations

from include.gitops.ownership import FieldChange, Ownership, fields_of, judge, topmost
from include.gitops.types import FIELD_MANAGER, LABEL_APP

OURS = {"f:metadata": {"f:labels": {f"f:{LABEL_APP}": {}}},
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}}},
                   "f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}}},
                   "f:finalizers": {'v:"x"': {}}, "f:args": {"i:0": {}}}}


def obj(*entries: tuple[str, str, dict]) -> dict:
    return {"metadata": {"uid": "u1", "resourceVersion": "7", "labels": {LABEL_APP: "shop"},
                         "managedFields": [{"manager": m, "operation": "Apply" if m == FIELD_MANAGER else "Update",
                                            "time": t, "fieldsV1": f} for m, t, f in entries]}}


def test_paths_name_list_items_by_their_merge_key_and_quote_dotted_keys():
    assert fields_of(OURS) == {
        f'metadata.labels["{LABEL_APP}"]', "spec.template.spec.containers[name=web]",
        "spec.template.spec.containers[name=web].image", "spec.template.spec.containers[name=web].name",
        "spec.ports[port=80,protocol=TCP]", "spec.ports[port=80,protocol=TCP].port", 'spec.finalizers[="x"]',
        "spec.args[0]"}


def test_topmost_reports_a_removed_item_not_each_of_its_fields():
    paths = fields_of(OURS["f:spec"]["f:template"])
    assert topmost(paths) == ["spec.containers[name=web]"]
    assert topmost(["data.a", "data.ab"]) == ["data.a", "data.ab"]  # a prefix of a name is no parent


def test_a_field_another_manager_took_is_drift_and_names_it():
    before = Ownership.of(obj((FIELD_MANAGER, "T1", OURS)), FIELD_MANAGER, LABEL_APP)
    taken = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}}}}
    left = {**OURS, "f:spec": {**OURS["f:spec"], "f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:name": {}}}}}}}
    after = obj((FIELD_MANAGER, "T1", left), ("kubectl-edit", "T2", taken))
    assert judge(before, after, FIELD_MANAGER) == FieldChange(
        "modified", ("spec.template.spec.containers[name=web].image",), ("kubectl-edit",))


def test_our_own_write_a_field_we_never_owned_and_a_new_object_are_not_drift():
    before = Ownership.of(obj((FIELD_MANAGER, "T1", OURS)), FIELD_MANAGER, LABEL_APP)
    # a sync that dropped a field from Git: our set shrinks, but our write stamp moved on
    assert judge(before, obj((FIELD_MANAGER, "T2", {"f:metadata": OURS["f:metadata"]})), FIELD_MANAGER) is None
    assert judge(before, obj((FIELD_MANAGER, "T1", OURS), ("hpa", "T2", {"f:spec": {"f:replicas": {}}})), FIELD_MANAGER) is None
    assert judge(None, obj((FIELD_MANAGER, "T1", OURS)), FIELD_MANAGER) is None


def test_removing_every_field_we_owned_or_the_object_is_drift():
    before = Ownership.of(obj((FIELD_MANAGER, "T1", OURS)), FIELD_MANAGER, LABEL_APP)
    stripped = judge(before, obj(("kubectl-edit", "T2", {})), FIELD_MANAGER)
    assert stripped.change == "modified" and stripped.by == () and f'metadata.labels["{LABEL_APP}"]' in stripped.fields
    assert judge(before, None, FIELD_MANAGER) == FieldChange("deleted")
