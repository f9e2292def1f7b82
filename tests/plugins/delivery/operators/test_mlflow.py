"""Register and promote operators: aliases move, tags record why, the Asset event carries the ids."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

import pytest

from delivery.operators.mlflow import CHALLENGER, CHAMPION, MlflowPromoteOperator, MlflowRegisterModelOperator
from include.common.events import ModelPromoted


@pytest.fixture
def logged_model(mlops_env):
    import mlflow
    from sklearn.dummy import DummyClassifier

    from delivery.hooks.mlflow import MlflowHook

    hook = MlflowHook()  # the test's store, with an explicit artifact folder (never ./mlruns)
    hook.activate()
    with mlflow.start_run(experiment_id=hook.ensure_experiment("ops")) as run:
        info = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="model",
                                        serialization_format="cloudpickle")
    return info.model_uri, run.info.run_id


def test_register_sets_challenger_and_is_idempotent(logged_model, mlflow_client):
    uri, run_id = logged_model
    op = MlflowRegisterModelOperator(task_id="register", model_uri=uri, run_id=run_id, name="m",
                                     tags={"delivery.data_sha256": "abc"})
    first = op.execute({"run_id": "r1"})
    again = op.execute({"run_id": "r1"})  # a retry: same run, same version
    assert first["version"] == again["version"] == "1"
    mv = mlflow_client.get_model_version_by_alias("m", CHALLENGER)
    assert str(mv.version) == "1" and mv.tags["delivery.data_sha256"] == "abc" and mv.tags["delivery.dag_run_id"] == "r1"


def test_promote_moves_champion_and_fills_the_asset_event(logged_model, mlflow_client):
    from delivery.assets import model_promoted

    uri, run_id = logged_model
    reg = MlflowRegisterModelOperator(task_id="register", model_uri=uri, run_id=run_id, name="m")
    reg.execute({"run_id": "r1"})
    events = defaultdict(SimpleNamespace)
    op = MlflowPromoteOperator(task_id="promote", name="m", version="1",
                               event_extra={"data_sha256": "abc", "data_path": "/data/train.csv"}, outlets=[model_promoted])
    extra = op.execute({"run_id": "r2", "outlet_events": events})
    assert str(mlflow_client.get_model_version_by_alias("m", CHAMPION).version) == "1"
    assert events[model_promoted].extra == extra
    event = ModelPromoted.from_extra(extra)  # the contract the consumers read
    assert (event.model_name, event.version, event.alias, event.dag_run_id) == ("m", "1", CHAMPION, "r2")
    assert event.previous_version is None and event.mlflow_run_id == run_id
    assert (event.data_sha256, event.data_path) == ("abc", "/data/train.csv")
    assert "run_id" not in extra
    tags = mlflow_client.get_model_version("m", "1").tags
    assert tags["delivery.champion_since_dag_run"] == "r2" and tags["delivery.previous_champion"] == "none"
