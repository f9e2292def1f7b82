"""MlflowAliasChangedSensor: a quick check, then defer (no worker slot) with a serialized deadline."""

from __future__ import annotations

import time

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
        "model_name", "alias", "from_version", "tracking_uri", "poll_interval", "backoff", "max_poll_interval", "wait_timeout"}


def test_deferrable_by_default_whatever_default_deferrable_says(monkeypatch):
    """Airflow's [operators] default_deferrable is False out of the box; this sensor must still defer."""
    monkeypatch.setattr(MlflowAliasChangedSensor, "_read", lambda self: None)
    waiting = MlflowAliasChangedSensor(task_id="wait", model_name="m")
    assert waiting.deferrable is True
    with pytest.raises(TaskDeferred):
        waiting.execute({})
