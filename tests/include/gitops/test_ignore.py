from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.common.errors import InputError
from include.gitops.diff import diff_resource
from include.gitops.ignore import IgnoreRule, parse_rules, remove_pointer
from include.gitops.types import SyncStatus

TESTDATA = Path(__file__).parent / "testdata"


def expectation(path: Path) -> str:
    """The text after ``# expect:`` in a fixture file."""
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# expect:' line")



def load(name: str) -> dict:
    return yaml.safe_load((TESTDATA / "diff" / name).read_text())


def test_json_pointer_rule_hides_replicas_drift() -> None:
    desired, live = load("deployment-replicas-edited-config.yaml"), load("deployment-replicas-edited-live.yaml")
    assert diff_resource(desired, live).status == SyncStatus.OUT_OF_SYNC
    rules = parse_rules([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}])
    assert diff_resource(desired, live, ignore=rules).status == SyncStatus.SYNCED


def test_rule_is_scoped_by_group_kind_and_name() -> None:
    desired, live = load("deployment-replicas-edited-config.yaml"), load("deployment-replicas-edited-live.yaml")
    for rule in (
        {"group": "", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]},
        {"group": "apps", "kind": "StatefulSet", "jsonPointers": ["/spec/replicas"]},
        {"group": "apps", "kind": "Deployment", "name": "other", "jsonPointers": ["/spec/replicas"]},
    ):
        assert diff_resource(desired, live, ignore=parse_rules([rule])).status == SyncStatus.OUT_OF_SYNC, rule


def test_escaped_pointer() -> None:
    obj = {"metadata": {"annotations": {"a/b": "1", "c~d": "2", "keep": "3"}}}
    remove_pointer(obj, "/metadata/annotations/a~1b")
    remove_pointer(obj, "/metadata/annotations/c~0d")
    remove_pointer(obj, "/does/not/exist")
    assert obj == {"metadata": {"annotations": {"keep": "3"}}}


def test_managed_fields_manager_rule() -> None:
    desired, live = load("deployment-replicas-edited-config.yaml"), load("deployment-replicas-edited-live.yaml")
    live["metadata"]["managedFields"].append(
        {"manager": "hpa-controller", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
    )
    rules = parse_rules([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["hpa-controller"]}])
    assert diff_resource(desired, live, ignore=rules).status == SyncStatus.SYNCED
    other = parse_rules([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["someone-else"]}])
    assert diff_resource(desired, live, ignore=other).status == SyncStatus.OUT_OF_SYNC


def test_managed_fields_keyed_list_items() -> None:
    desired, live = load("deployment-image-and-env-config.yaml"), load("deployment-image-and-env-live.yaml")
    live["metadata"]["managedFields"] = [{
        "manager": "kubectl-edit", "operation": "Update", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"web"}': {
            "f:image": {}, "f:env": {'k:{"name":"COLOR"}': {".": {}, "f:value": {}}}}}}}}},
    }]
    rules = parse_rules([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kubectl-edit"]}])
    assert diff_resource(desired, live, ignore=rules).status == SyncStatus.SYNCED


@pytest.mark.parametrize("bad", [{}, {"kind": "Deployment"}, {"kind": "Deployment", "jsonPointers": ["spec/replicas"]}])
def test_bad_rules_are_input_errors(bad: dict) -> None:
    with pytest.raises(InputError, match="ignore_differences"):
        IgnoreRule.from_dict(bad)
