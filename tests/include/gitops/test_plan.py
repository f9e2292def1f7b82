from __future__ import annotations

import pytest

from include.common.errors import InputError
from include.gitops.plan import build_plan, sync_wave
from include.gitops.types import ANNOTATION_SYNC_WAVE, ResourceKey


def obj(kind: str, name: str, *, api: str = "v1", ns: str = "demo", wave: str | None = None) -> dict:
    meta: dict = {"name": name}
    if ns:
        meta["namespace"] = ns
    if wave is not None:
        meta["annotations"] = {ANNOTATION_SYNC_WAVE: wave}
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def test_namespaces_and_crds_first_then_waves_then_kind_order() -> None:
    desired = [
        obj("Job", "migrate", api="batch/v1", wave="5"),
        obj("Deployment", "web", api="apps/v1"),
        obj("Widget", "w", api="demo.delivery.io/v1"),
        obj("ConfigMap", "settings"),
        obj("CustomResourceDefinition", "widgets.demo.delivery.io", api="apiextensions.k8s.io/v1", ns=""),
        obj("Namespace", "demo", ns=""),
        obj("Secret", "early", wave="-1"),
    ]
    plan = build_plan(desired)
    assert [s.name for s in plan.steps] == ["namespaces and CRDs", "wave -1", "wave 0", "wave 5"]
    assert [k.kind for k in plan.steps[0].keys] == ["Namespace", "CustomResourceDefinition"]
    assert [k.kind for k in plan.steps[2].keys] == ["ConfigMap", "Deployment", "Widget"]
    assert [k.name for k in plan.steps[3].keys] == ["migrate"]
    assert "wave 5: Job.batch demo/migrate" in plan.describe()


def test_synced_objects_are_skipped_and_prune_is_last_in_reverse_order() -> None:
    desired = [obj("ConfigMap", "a"), obj("ConfigMap", "b")]
    prune = [obj("Namespace", "old", ns=""), obj("Deployment", "gone", api="apps/v1")]
    plan = build_plan(desired, skip={ResourceKey.of(desired[0])}, prune=prune)
    assert [k.name for s in plan.steps for k in s.keys] == ["b"]
    assert plan.unchanged == [ResourceKey.of(desired[0])]
    assert [o["metadata"]["name"] for o in plan.prune] == ["gone", "old"]  # namespace deleted last
    assert plan.as_dict()["prune"][0].endswith("Deployment/demo/gone")


def test_nothing_to_do() -> None:
    desired = [obj("ConfigMap", "a")]
    plan = build_plan(desired, skip={ResourceKey.of(desired[0])})
    assert plan.steps == [] and "unchanged: 1" in plan.describe()


def test_bad_wave_is_input_error() -> None:
    with pytest.raises(InputError, match="delivery.io/sync-wave"):
        sync_wave(obj("ConfigMap", "a", wave="early"))
