"""MlflowHook: where the tracking URI comes from, the local default, and the registry helpers."""

from __future__ import annotations

import json

import pytest

from delivery.hooks.mlflow import MlflowHook


@pytest.fixture
def no_conn(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_DEFAULT", raising=False)
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


def test_without_connection_uses_local_sqlite_and_explicit_artifacts(no_conn):
    hook = MlflowHook()
    assert hook.tracking_uri == f"sqlite:///{no_conn / 'mlflow' / 'mlflow.db'}"
    assert hook.config["artifact_location"] == (no_conn / "mlflow" / "artifacts").as_uri()
    assert "embedded default" in hook.config["source"]
    exp_id = hook.ensure_experiment("e1")
    assert hook.ensure_experiment("e1") == exp_id  # idempotent
    location = hook.get_client().get_experiment(exp_id).artifact_location
    assert location == (no_conn / "mlflow" / "artifacts" / "e1").as_uri()
    ok, message = hook.test_connection()
    assert ok, message


def test_connection_host_and_port(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps(
        {"conn_type": "mlflow", "host": "mlflow.internal", "port": 5000, "login": "u", "password": "p"}))
    hook = MlflowHook()
    assert hook.tracking_uri == "http://mlflow.internal:5000"
    assert hook.config["username"] == "u" and hook.config["source"] == "connection 'mlflow_default'"


def test_extra_tracking_uri_wins_and_constructor_wins_over_all(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_OTHER", json.dumps(
        {"conn_type": "mlflow", "host": "ignored", "extra": {"tracking_uri": f"sqlite:///{tmp_path}/x.db"}}))
    assert MlflowHook("mlflow_other").tracking_uri == f"sqlite:///{tmp_path}/x.db"
    assert MlflowHook("mlflow_other").config["artifact_location"] == (tmp_path / "artifacts").as_uri()
    assert MlflowHook("mlflow_other", tracking_uri="http://x:1").tracking_uri == "http://x:1"


def test_connection_without_host_or_uri_is_an_input_error(monkeypatch):
    from include.common.errors import InputError

    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_DEFAULT", json.dumps({"conn_type": "mlflow"}))
    with pytest.raises(InputError, match="tracking_uri"):
        MlflowHook().tracking_uri


def test_unreachable_server_reports_false(monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    ok, message = MlflowHook(tracking_uri="http://127.0.0.1:9").test_connection()
    assert not ok and "not reachable" in message


def test_get_alias_version(no_conn):
    import mlflow
    from sklearn.dummy import DummyClassifier

    hook = MlflowHook()
    client = hook.activate()
    assert hook.get_alias_version("nothing-here", "champion") is None
    exp = hook.ensure_experiment("alias")
    with mlflow.start_run(experiment_id=exp):
        info = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="model",
                                        serialization_format="cloudpickle")
    version = mlflow.register_model(info.model_uri, "m").version
    assert hook.get_alias_version("m", "champion") is None  # model exists, alias does not
    client.set_registered_model_alias("m", "champion", version)
    found = hook.get_alias_version("m", "champion")
    assert found["version"] == str(version) and "champion" in found["aliases"] and found["run_id"]
