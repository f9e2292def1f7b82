"""MlflowAliasChangedTrigger against a real local MLflow store (SQLite + artifact folder)."""

from __future__ import annotations

import asyncio
import importlib
import time

import pytest

from delivery.triggers.mlflow_alias import MlflowAliasChangedTrigger

MODEL = "links-test-model"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """A SQLite MLflow registry with 3 versions of MODEL, champion at version 1."""
    from mlflow.tracking import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    for _ in range(3):
        client.create_model_version(MODEL, source=(root / "artifacts").as_uri())
    client.set_registered_model_alias(MODEL, "champion", "1")
    return uri


def set_champion(uri: str, version: str) -> None:
    from mlflow.tracking import MlflowClient

    MlflowClient(tracking_uri=uri, registry_uri=uri).set_registered_model_alias(MODEL, "champion", version)


async def first_event(trigger: MlflowAliasChangedTrigger, timeout: float = 60):
    gen = trigger.run()
    event = await asyncio.wait_for(gen.__anext__(), timeout)
    with pytest.raises(StopAsyncIteration):  # exactly one event
        await asyncio.wait_for(gen.__anext__(), 5)
    return event.payload


def test_serialize_round_trip_keeps_every_argument_and_the_start_time():
    trig = MlflowAliasChangedTrigger(model_name="m", alias="challenger", from_version="4", mlflow_conn_id="c",
                                     tracking_uri="sqlite:////x.db", poll_interval=2, backoff=2, max_poll_interval=8,
                                     timeout=30, start_time=1_700_000_000.5, max_errors=3)
    path, kwargs = trig.serialize()
    module, name = path.rsplit(".", 1)
    assert path == "delivery.triggers.mlflow_alias.MlflowAliasChangedTrigger"
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert kwargs["start_time"] == 1_700_000_000.5
    assert set(kwargs) == {"model_name", "alias", "from_version", "mlflow_conn_id", "tracking_uri", "poll_interval",
                           "backoff", "max_poll_interval", "timeout", "start_time", "max_errors"}


def test_start_time_is_set_once_when_missing():
    before = time.time()
    kwargs = MlflowAliasChangedTrigger(model_name="m").serialize()[1]
    assert before <= kwargs["start_time"] <= time.time()
    assert kwargs["from_version"] is None


def test_fires_when_champion_moves(store, monkeypatch):
    """The first poll sees the deployed version; the alias moves (as a promotion would); a later poll fires."""
    set_champion(store, "1")
    real_read = MlflowAliasChangedTrigger._read
    seen: list[str] = []

    def read_then_promote(self):
        current = real_read(self)  # the real MLflow read
        seen.append(current["version"])
        if len(seen) == 1:
            set_champion(store, "3")  # someone promotes while the trigger waits
        return current

    monkeypatch.setattr(MlflowAliasChangedTrigger, "_read", read_then_promote)
    trig = MlflowAliasChangedTrigger(model_name=MODEL, from_version="1", tracking_uri=store, poll_interval=0.2,
                                     backoff=1, max_poll_interval=0.2, timeout=120)
    payload = asyncio.run(first_event(trig))
    assert payload["status"] == "success"
    assert payload["version"] == "3" and payload["previous_version"] == "1"
    assert payload["model"]["name"] == MODEL and payload["model"]["aliases"] == ["champion"]
    assert seen == ["1", "3"] and payload["polls"] == 2


def test_fires_at_once_when_nothing_is_deployed(store):
    set_champion(store, "2")
    payload = asyncio.run(first_event(MlflowAliasChangedTrigger(model_name=MODEL, tracking_uri=store)))
    assert (payload["status"], payload["version"], payload["polls"]) == ("success", "2", 1)


def test_missing_model_keeps_waiting_then_times_out(store):
    trig = MlflowAliasChangedTrigger(model_name="no-such-model", tracking_uri=store, poll_interval=0.1,
                                     max_poll_interval=0.1, timeout=0.5)
    payload = asyncio.run(first_event(trig))
    assert payload["status"] == "timeout"
    assert "(no alias)" in payload["message"]


def test_deadline_counts_from_the_serialized_start_time(store):
    """A trigger restarted after its deadline times out after one poll, not after another full timeout."""
    set_champion(store, "2")
    trig = MlflowAliasChangedTrigger(model_name=MODEL, from_version="2", tracking_uri=store, poll_interval=30,
                                     max_poll_interval=30, timeout=60, start_time=time.time() - 120)
    started = time.monotonic()
    payload = asyncio.run(first_event(trig, timeout=20))
    assert payload["status"] == "timeout" and payload["version"] == "2"
    assert time.monotonic() - started < 20
    assert "still at version 2" in payload["message"]


def test_errors_back_off_and_end_with_an_error_event(monkeypatch):
    delays: list[float] = []

    async def fake_sleep(seconds):
        delays.append(round(seconds, 3))

    def broken(self):
        raise ConnectionError("MLflow server down")

    monkeypatch.setattr(MlflowAliasChangedTrigger, "_read", broken)
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    trig = MlflowAliasChangedTrigger(model_name="m", poll_interval=1, backoff=2, max_poll_interval=3, max_errors=4,
                                     timeout=3600)
    payload = asyncio.run(first_event(trig))
    assert payload["status"] == "error" and "MLflow server down" in payload["message"]
    assert delays == [1, 2, 3], "three sleeps with backoff, capped, before the 4th failure"


def test_unchanged_polls_back_off_to_the_cap(monkeypatch):
    delays: list[float] = []
    reads = iter([{"version": "5"}] * 5 + [{"version": "6"}])

    async def fake_sleep(seconds):
        delays.append(round(seconds, 3))

    monkeypatch.setattr(MlflowAliasChangedTrigger, "_read", lambda self: next(reads))
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    trig = MlflowAliasChangedTrigger(model_name="m", from_version="5", poll_interval=2, backoff=1.5,
                                     max_poll_interval=5, timeout=3600)
    payload = asyncio.run(first_event(trig))
    assert payload["version"] == "6" and payload["polls"] == 6
    assert delays == [2, 3, 4.5, 5, 5]
