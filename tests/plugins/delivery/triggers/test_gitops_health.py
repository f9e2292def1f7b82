from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from delivery.triggers.gitops_health import GitOpsHealthTrigger


def make(**kwargs) -> GitOpsHealthTrigger:
    args = dict(app="shop", resources=["apps/Deployment/demo/web"], kubernetes_conn_id="k8s_test", kubeconfig="/tmp/kc", context="ctx",
                timeout=30, poll_interval=0.01)
    return GitOpsHealthTrigger(**{**args, **kwargs})


def events(trigger: GitOpsHealthTrigger) -> list[dict]:
    async def collect():
        return [e.payload async for e in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), timeout=10))


def test_serialize_round_trip_keeps_every_argument_and_the_start_time() -> None:
    trigger = make()
    path, kwargs = trigger.serialize()
    assert path == "delivery.triggers.gitops_health.GitOpsHealthTrigger"
    again = GitOpsHealthTrigger(**kwargs)
    assert again.serialize() == (path, kwargs)
    assert set(kwargs) == {"app", "resources", "kubernetes_conn_id", "kubeconfig", "context", "timeout", "poll_interval", "started_at"}


def test_yields_one_healthy_event_after_progressing(monkeypatch) -> None:
    answers = iter([{"health": "Progressing", "resources": {}}, {"health": "Healthy", "resources": {"x": {"status": "Healthy", "message": ""}}}])
    trigger = make()
    monkeypatch.setattr(trigger, "check", lambda: next(answers))
    out = events(trigger)
    assert len(out) == 1 and out[0]["status"] == "healthy"


def test_degraded_names_the_resource(monkeypatch) -> None:
    trigger = make()
    monkeypatch.setattr(trigger, "check", lambda: {"health": "Degraded", "resources": {
        "batch/Job/demo/migrate": {"status": "Degraded", "message": "BackoffLimitExceeded"}}})
    (event,) = events(trigger)
    assert event["status"] == "degraded" and "batch/Job/demo/migrate: BackoffLimitExceeded" in event["message"]


def test_deadline_counts_from_the_serialized_start(monkeypatch) -> None:
    # a trigger restarted 40 s after it was first created (timeout 30 s) times out at once
    started = (datetime.now(timezone.utc) - timedelta(seconds=40)).isoformat()
    trigger = make(started_at=started)
    monkeypatch.setattr(trigger, "check", lambda: {"health": "Progressing", "resources": {
        "apps/Deployment/demo/web": {"status": "Progressing", "message": "0 of 1 available"}}})
    (event,) = events(trigger)
    assert event["status"] == "timeout" and "still Progressing after 30s" in event["message"]
    assert "0 of 1 available" in event["message"]


def test_api_errors_are_retried_until_the_deadline(monkeypatch) -> None:
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("apiserver restarting")
        return {"health": "Healthy", "resources": {}}

    trigger = make()
    monkeypatch.setattr(trigger, "check", flaky)
    assert events(trigger)[0]["status"] == "healthy" and calls["n"] == 3


def test_two_copies_may_run_at_once(monkeypatch) -> None:
    a, b = make(), make()
    for t in (a, b):
        monkeypatch.setattr(t, "check", lambda: {"health": "Healthy", "resources": {}})

    async def both():
        async def one(t):
            return [e.payload async for e in t.run()]
        return await asyncio.gather(one(a), one(b))

    ra, rb = asyncio.run(both())
    assert ra == rb and len(ra) == 1
