"""MlflowAliasChangedSensor: a quick check, then defer (no worker slot) with a serialized deadline."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowSkipException, TaskDeferred

from delivery.sensors.mlflow_alias import MlflowAliasChangedSensor
from delivery.triggers.mlflow_alias import MlflowAliasChangedTrigger


def sensor(**kwargs) -> MlflowAliasChangedSensor:
    return MlflowAliasChangedSensor(task_id="wait", model_name="m", deferrable=True, **kwargs)


def test_returns_at_once_when_the_alias_already_moved(monkeypatch):
    monkeypatch.setattr(MlflowAliasChangedSensor, "_read", lambda self: {"version": "4", "run_id": "r"})
    event = sensor(from_version="3").execute({})
    assert event["status"] == "success" and event["version"] == "4" and event["previous_version"] == "3"


def test_defers_with_every_setting_when_unchanged(monkeypatch):
    monkeypatch.setattr(MlflowAliasChangedSensor, "_read", lambda self: {"version": "3"})
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        sensor(from_version="3", poll_interval="2", backoff="1.5", max_poll_interval="10", wait_timeout="90").execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, MlflowAliasChangedTrigger)
    assert deferred.value.method_name == "execute_complete"
    kwargs = trigger.serialize()[1]
    assert (kwargs["from_version"], kwargs["poll_interval"], kwargs["backoff"], kwargs["max_poll_interval"],
            kwargs["timeout"]) == ("3", 2.0, 1.5, 10.0, 90.0)
    assert before <= kwargs["start_time"] <= time.time()


@pytest.mark.parametrize("rendered", ["", "None", None])
def test_an_empty_rendered_baseline_means_nothing_deployed(monkeypatch, rendered):
    monkeypatch.setattr(MlflowAliasChangedSensor, "_read", lambda self: {"version": "1"})
    assert sensor(from_version=rendered).execute({})["previous_version"] is None


def test_bad_numbers_fail_before_waiting(monkeypatch):
    monkeypatch.setattr(MlflowAliasChangedSensor, "_read", lambda self: {"version": "3"})
    with pytest.raises(ValueError):
        sensor(from_version="3", poll_interval="0").execute({})


def test_execute_complete_passes_success_and_raises_otherwise():
    ok = {"status": "success", "version": "5", "message": "moved"}
    assert sensor().execute_complete({}, ok) is ok
    with pytest.raises(AirflowException, match="still at version 3"):
        sensor().execute_complete({}, {"status": "timeout", "message": "m@champion is still at version 3 after 60 s"})
    with pytest.raises(AirflowSkipException):
        sensor(soft_fail=True).execute_complete({}, {"status": "timeout", "message": "late"})
    with pytest.raises(AirflowException, match="could not be read"):
        sensor(soft_fail=True).execute_complete({}, {"status": "error", "message": "MLflow could not be read 5 times"})


def test_template_fields_are_the_documented_ones():
    assert set(MlflowAliasChangedSensor.template_fields) == {
        "model_name", "alias", "from_version", "mlflow_conn_id", "tracking_uri", "poll_interval", "backoff",
        "max_poll_interval", "wait_timeout"}
    doc = MlflowAliasChangedSensor.__doc__
    params = {chunk.split(":", 1)[0]: chunk for chunk in doc.split(":param ")[1:]}
    for name in MlflowAliasChangedSensor.template_fields:
        assert "(templated)" in params[name], name


DAG_FILE = Path(__file__).parents[4] / "dags" / "mlops_promote_to_gitops.py"


class _TI:
    """Just enough of a task instance for the sensor's templates."""

    def xcom_pull(self, task_ids=None, **kwargs):
        return {"model_name": "m", "alias": "champion", "version": "3"} if task_ids == "read_deployed" else None


def test_the_rendered_conn_id_reaches_the_hook_and_the_trigger(monkeypatch):
    """The DAG's ``mlflow_conn_id="{{ params.mlflow_conn_id }}"`` is rendered before the sensor reads MLflow."""
    from airflow.dag_processing.dagbag import DagBag

    from delivery.hooks.mlflow import MlflowHook

    bag = DagBag(dag_folder=str(DAG_FILE))
    wait = bag.dags["mlops_promote_to_gitops"].get_task("wait_for_champion")
    assert wait.mlflow_conn_id == "{{ params.mlflow_conn_id }}"
    params = {"mlflow_conn_id": "mlflow_prod", "poll_interval": 2, "backoff": 1.5, "max_poll_interval": 10,
              "wait_timeout": 90}
    wait.render_template_fields({"params": params, "ti": _TI(), "task_instance": _TI()})
    assert wait.mlflow_conn_id == "mlflow_prod" and wait.model_name == "m" and wait._baseline() == "3"

    read_with = []

    def get_alias_version(hook, name, alias):
        read_with.append(hook.mlflow_conn_id)
        return {"version": "3"}

    monkeypatch.setattr(MlflowHook, "get_alias_version", get_alias_version)
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute({})
    assert read_with == ["mlflow_prod"]  # the sensor's own quick check
    classpath, kwargs = deferred.value.trigger.serialize()
    assert kwargs["mlflow_conn_id"] == "mlflow_prod"
    # ... and the triggerer's copy, rebuilt from the serialized kwargs, reads the same connection.
    revived = MlflowAliasChangedTrigger(**kwargs)
    revived._read()
    assert read_with == ["mlflow_prod", "mlflow_prod"]


@pytest.fixture
def mlflow_state(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_DEFAULT", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_MLFLOW_MISSING", raising=False)
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.mark.parametrize("conn_id,words", [
    ("mlflow_missing", "AIRFLOW_CONN_MLFLOW_MISSING"),
    ("{{ params.mlflow_conn_id }}", "unrendered Jinja template"),
])
def test_a_missing_named_connection_fails_instead_of_using_the_embedded_store(mlflow_state, conn_id, words):
    from include.common.errors import InputError

    with pytest.raises(InputError) as err:
        sensor(mlflow_conn_id=conn_id).execute({})
    message = str(err.value)
    assert repr(conn_id) in message and "does not exist" in message and "Fix:" in message and words in message
    assert not (mlflow_state / "mlflow").exists()  # the embedded store was never created


def test_a_named_connection_that_exists_is_used(mlflow_state, monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_MLFLOW_PROD", json.dumps(
        {"conn_type": "mlflow", "extra": {"tracking_uri": f"sqlite:///{tmp_path / 'prod.db'}"}}))
    with pytest.raises(TaskDeferred) as deferred:
        sensor(mlflow_conn_id="mlflow_prod").execute({})  # no model yet: waits
    assert deferred.value.trigger.serialize()[1]["mlflow_conn_id"] == "mlflow_prod"
    assert (tmp_path / "prod.db").is_file() and not (mlflow_state / "mlflow").exists()


def test_a_missing_default_connection_uses_the_embedded_store_and_says_so(mlflow_state, caplog, capfd):
    from delivery.hooks.mlflow import MlflowHook

    with caplog.at_level(logging.INFO):
        hook = MlflowHook()
        assert hook.tracking_uri == f"sqlite:///{mlflow_state / 'mlflow' / 'mlflow.db'}"
    assert "embedded default" in hook.config["source"]
    # Airflow's structlog writes the hook's log to stdout (the task log), not to the logging records.
    logged = capfd.readouterr().out + "".join(r.getMessage() for r in caplog.records)
    assert "No connection 'mlflow_default': MLflow uses the embedded store" in logged, logged


def test_deferrable_by_default_whatever_default_deferrable_says(monkeypatch):
    """Airflow's [operators] default_deferrable is False out of the box; this sensor must still defer."""
    monkeypatch.setattr(MlflowAliasChangedSensor, "_read", lambda self: None)
    waiting = MlflowAliasChangedSensor(task_id="wait", model_name="m")
    assert waiting.deferrable is True
    with pytest.raises(TaskDeferred):
        waiting.execute({})
