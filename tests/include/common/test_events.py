"""The Asset contracts: what a producer emits is what its consumer reads back, or a clear error."""

from __future__ import annotations

import pytest

from include.common.errors import InputError
from include.common.events import CONTRACTS, AppImage, ManifestsChanged

SHA = "a" * 40


def test_round_trip_keeps_every_field():
    event = ManifestsChanged(app="shop", repo_url="file:///r.git", path="apps/shop", sha=SHA, trace={"model_version": "3"})
    assert ManifestsChanged.from_extra(event.to_extra()) == event
    assert event.to_extra()["schema"] == 2  # schema 2 added the app settings of apps.yaml


def test_missing_key_names_the_asset_the_key_and_the_fix():
    with pytest.raises(InputError) as err:
        AppImage.from_extra({"repo_url": "file:///a.git", "image": "x", "tag": "t", "digest": "sha256:1"})
    assert "app_image event" in str(err.value) and "sha" in str(err.value) and "AppImage(" in str(err.value)


def test_newer_schema_is_refused():
    extra = ManifestsChanged(app="shop", repo_url="r", path="p", sha=SHA).to_extra() | {"schema": ManifestsChanged.schema + 1}
    with pytest.raises(InputError, match=f"schema {ManifestsChanged.schema + 1}"):
        ManifestsChanged.from_extra(extra)


def test_unknown_keys_are_ignored_so_older_consumers_read_newer_minor_fields():
    extra = ManifestsChanged(app="shop", repo_url="r", path="p", sha=SHA).to_extra() | {"added_later": 1}
    assert ManifestsChanged.from_extra(extra).sha == SHA


def test_one_contract_per_asset_of_the_project():
    from delivery import assets

    names = {a.name for a in vars(assets).values() if type(a).__name__ == "Asset"}
    assert names == set(CONTRACTS)


def test_cluster_drift_v2_reads_what_the_v1_drift_check_emitted():
    from include.common.events import ClusterDrift

    v1 = {"schema": 1, "app": "shop", "status": "OutOfSync", "repo_url": "file:///r.git", "path": "apps/shop", "sha": SHA,
          "self_heal": True, "revision": "main", "counts": {"OutOfSync": 1}, "report_dir": "/r"}
    drift = ClusterDrift.from_extra(v1)
    assert (drift.sha, drift.self_heal, drift.source, drift.resources) == (SHA, True, "drift_check", [])
    assert ClusterDrift.from_extra(drift.to_extra()) == drift and drift.to_extra()["schema"] == 2


def test_cluster_drift_from_an_asset_watcher_is_the_triggers_payload():
    from include.common.events import ClusterDrift

    watched = ClusterDrift(app="shop", status="OutOfSync", source="watch", resources=[
        {"resource": "/ConfigMap/demo/settings", "change": "modified", "fields": ["data.color"], "by": ["kubectl-edit"]}])
    # what Airflow stores as the Asset event's extra when an AssetWatcher's trigger fires
    assert ClusterDrift.from_extra({"from_trigger": True, "payload": watched.to_extra()}) == watched
    with pytest.raises(InputError, match="no app, status"):
        ClusterDrift.from_extra({"from_trigger": True, "payload": {}})
