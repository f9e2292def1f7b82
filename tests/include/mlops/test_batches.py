"""Which batch a run reads: param, else the newest triggering event's data_path (through its contract), else a default."""

from __future__ import annotations

import pytest

from include.common.errors import InputError
from include.common.events import ProductionBatch, RetrainRequested, TrainingData
from include.mlops import batches


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    return tmp_path


def _file(folder, name: str):
    path = folder / name
    path.write_text("a,b\n1,2\n")
    return path


def _retrain(data_path: str = "") -> dict:
    return RetrainRequested(batch_path="/b.csv", batch_sha256="0" * 64, drift_share=0.8, champion_version="1",
                            dag_run_id="r", data_path=data_path).to_extra()


def test_the_newest_event_with_a_data_path_wins():
    events = {"training_data": [TrainingData(data_path="/old.csv").to_extra(), TrainingData(data_path="/new.csv").to_extra()],
              "retrain_requested": [_retrain()]}  # an unlabelled batch names no data_path
    assert batches.event_data_path(events) == "/new.csv"
    assert batches.event_data_path({"retrain_requested": [_retrain("/labelled.csv")]}) == "/labelled.csv"
    assert batches.event_data_path({}) == ""


def test_an_event_without_its_contract_keys_fails_with_the_fix():
    with pytest.raises(InputError, match="production_batch event.*data_path"):
        batches.event_data_path({"production_batch": [{"path": "/x.csv"}]})  # the key before the contracts


def test_training_batch_param_wins_over_events_and_default(state):
    param, event = _file(state, "param.csv"), _file(state, "event.csv")
    events = {"training_data": [TrainingData(data_path=str(event)).to_extra()]}
    assert batches.training_batch(str(param), events)["path"] == str(param.resolve())
    assert batches.training_batch(None, events)["path"] == str(event.resolve())
    default = batches.training_batch(None, {})
    assert default["path"].endswith("training.csv") and default["rows"] == 569


def test_production_batch_falls_back_to_the_inbox_and_else_to_none(state):
    from include.mlops.demo import batches_dir

    assert batches.production_batch(None, {}) is None
    event = _file(state, "event.csv")
    events = {"production_batch": [ProductionBatch(data_path=str(event)).to_extra()]}
    assert batches.production_batch(None, events)["path"] == str(event.resolve())
    newest = _file(batches_dir(), "batch-9.csv")
    assert batches.production_batch(None, {})["path"] == str(newest.resolve())
    assert batches.production_batch(str(event), {})["sha256"] == batches.production_batch(None, events)["sha256"]
