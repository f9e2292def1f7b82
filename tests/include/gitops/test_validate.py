"""Validation, offline (plan-only) part. The bad-manifest corpus in testdata/bad/ is also run
against the real API server in test_cluster_sync.py, with the cluster-only cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.common.errors import InputError
from include.gitops.render import parse_manifests
from include.gitops.validate import ValidationError, apply_default_namespace, check, crd_kinds, validate

BAD = Path(__file__).parent / "testdata" / "bad"


def expectation(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(path.name)


OFFLINE_CASES = sorted(p for p in BAD.glob("*.yaml") if "# cluster-only" not in p.read_text())


@pytest.mark.parametrize("path", OFFLINE_CASES, ids=lambda p: p.stem)
def test_bad_manifest_stops_with_clear_message(path: Path) -> None:
    with pytest.raises(InputError) as info:
        objects = parse_manifests(path.read_text().replace("NAMESPACE", "demo"), path.name)
        check(objects, namespaces=None)
    message = str(info.value)
    assert expectation(path) in message
    assert "Fix:" in message


def test_every_problem_is_reported_at_once() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}},
        {"apiVersion": "v1", "kind": "Nope", "metadata": {"name": "b", "namespace": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "x"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "missing"}},
    ]
    problems = validate(objects, namespaces={"x"})
    text = "\n".join(map(str, problems))
    assert len(problems) == 4, text
    for expected in ("duplicate resource id", "unknown kind 'Nope'", "not a valid object name", "namespace 'missing'"):
        assert expected in text


def test_namespace_and_crd_in_the_same_set_count() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new"}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.demo.delivery.io"},
         "spec": {"group": "demo.delivery.io", "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets"},
                  "versions": [{"name": "v1", "served": True, "storage": True}]}},
        {"apiVersion": "demo.delivery.io/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "new"}},
    ]
    dry_runs: list[str] = []
    assert validate(objects, namespaces={"default"}, dry_run=lambda o: dry_runs.append(o["kind"]) or None) == []
    # the CR and anything in the new namespace are checked by the server when applied
    assert dry_runs == ["Namespace", "CustomResourceDefinition"]
    assert crd_kinds(objects) == {("demo.delivery.io/v1", "Widget"): True}


def test_dry_run_errors_become_problems() -> None:
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}}]
    with pytest.raises(ValidationError, match="rejected by the API server.*bad field") as info:
        check(objects, namespaces={"x"}, dry_run=lambda o: "bad field")
    assert len(info.value.problems) == 1


def test_default_namespace_only_for_namespaced_kinds() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}},
    ]
    apply_default_namespace(objects, "demo", {("v1", "ConfigMap"): True, ("v1", "Namespace"): False})
    assert objects[0]["metadata"]["namespace"] == "demo"
    assert "namespace" not in objects[1]["metadata"]
