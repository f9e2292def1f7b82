"""Registry moves on a real SQLite MLflow store: register, promote, roll back, lineage."""

from __future__ import annotations

import pytest

from include.mlops import registry

MODEL = "registry-test-model"


@pytest.fixture
def client(mlops_env):
    """The test's private store, with the mlflow module pointed at it (registering uses the fluent API)."""
    from delivery.hooks.mlflow import MlflowHook

    return MlflowHook().activate()


@pytest.fixture
def versions(client, tmp_path):
    """MODEL with versions 1 and 2, each from its own run (tagged like a training run)."""
    exp = client.create_experiment("registry")
    runs = []
    for n in (1, 2):
        run = client.create_run(exp)
        client.set_tag(run.info.run_id, "delivery.data_sha256", f"hash{n}")
        client.set_tag(run.info.run_id, "delivery.dag_run_id", f"train{n}")
        client.set_terminated(run.info.run_id)
        runs.append(run.info.run_id)
    client.create_registered_model(MODEL)
    for run_id in runs:
        client.create_model_version(MODEL, source=(tmp_path / "model").as_uri(), run_id=run_id)
    return runs


def test_alias_version_is_none_without_model_or_alias(client, versions):
    assert registry.alias_version(client, "no-such-model", "champion") is None
    assert registry.alias_version(client, MODEL, "champion") is None
    client.set_registered_model_alias(MODEL, "champion", "2")
    found = registry.alias_version(client, MODEL, "champion")
    assert (found["name"], found["version"], found["run_id"], found["aliases"]) == (MODEL, "2", versions[1], ["champion"])


def test_register_reuses_the_version_of_the_same_run(client, versions, tmp_path):
    """A retried register task: the run already has a version, so no second one is registered."""
    again = registry.register(client, MODEL, (tmp_path / "model").as_uri(), run_id=versions[1], alias="challenger",
                              tags={"delivery.dag_run_id": "r1"})
    assert again == ("2", True)
    mv = client.get_model_version_by_alias(MODEL, "challenger")
    assert str(mv.version) == "2" and mv.tags["delivery.dag_run_id"] == "r1"


def test_register_creates_the_model_and_a_version(client, tmp_path):
    assert registry.register(client, "fresh", (tmp_path / "m").as_uri(), run_id=None, alias=None, tags={}) == ("1", False)
    assert client.get_registered_model("fresh").name == "fresh"
    assert registry.alias_version(client, "fresh", "challenger") is None, "alias None sets none"


def test_promote_moves_the_alias_and_records_the_previous_one(client, versions):
    assert registry.promote(client, MODEL, "1", "champion", dag_run_id="p1") == {
        "previous_version": None, "mlflow_run_id": versions[0]}
    moved = registry.promote(client, MODEL, "2", "champion", dag_run_id="p2", tags={"delivery.why": "better"})
    assert moved == {"previous_version": "1", "mlflow_run_id": versions[1]}
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "2"
    tags = client.get_model_version(MODEL, "2").tags
    assert tags["delivery.champion_since_dag_run"] == "p2" and tags["delivery.previous_champion"] == "1"
    assert tags["delivery.why"] == "better"
    assert client.get_model_version(MODEL, "1").tags["delivery.previous_champion"] == "none"


def test_promote_of_a_missing_version_fails_before_the_alias_moves(client, versions):
    from mlflow.exceptions import MlflowException

    client.set_registered_model_alias(MODEL, "champion", "1")
    with pytest.raises(MlflowException):
        registry.promote(client, MODEL, "9", "champion", dag_run_id="p")
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"


def test_roll_back_moves_the_alias_back_and_says_why(client, versions):
    client.set_registered_model_alias(MODEL, "champion", "2")
    moved = registry.roll_back(client, MODEL, "champion", "2", "1", dag_run_id="d1",
                               tags={"delivery.rollback_reason": "Degraded"})
    assert moved == "champion moved back to v1"
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    assert client.get_model_version(MODEL, "2").tags["delivery.rollback_reason"] == "Degraded"
    assert client.get_model_version(MODEL, "1").tags["delivery.restored_by"] == "d1: v2 rolled back"


def test_roll_back_without_a_previous_version_removes_the_alias(client, versions):
    client.set_registered_model_alias(MODEL, "champion", "1")
    moved = registry.roll_back(client, MODEL, "champion", "1", None, dag_run_id="d1", tags={})
    assert moved.startswith("champion removed")
    assert registry.alias_version(client, MODEL, "champion") is None


def test_run_lineage_reads_the_training_run_tags(client, versions):
    assert registry.run_lineage(client, versions[0]) == {"data_hash": "hash1", "train_dag_run_id": "train1"}
    assert registry.run_lineage(client, None) == {}
    assert registry.run_lineage(client, "no-such-run") == {}, "lineage is best effort"
