"""The rules of the app's health wait (shared by the trigger and the in-worker wait)."""

from __future__ import annotations

import pytest

from include.gitops.wait import failure, first_check, outcome

WEB = "apps/Deployment/demo/web"


def checked(health: str, status: str | None = None, message: str = "") -> dict:
    return {"health": health, "resources": {WEB: {"status": status or health, "message": message}}}


@pytest.mark.parametrize(("health", "timeout", "status"), [
    ("Healthy", 30, "healthy"), ("Degraded", 30, "degraded"), ("Progressing", 0, "not-waited"), ("Progressing", 30, None),
])
def test_first_check(health, timeout, status) -> None:
    event = first_check("shop", checked(health), timeout=timeout)
    assert (event or {}).get("status") == status
    if status == "not-waited":
        assert "health_timeout is 0" in event["message"]


def test_outcome_healthy_degraded_or_keep_waiting_until_the_deadline() -> None:
    assert outcome("shop", checked("Healthy"), timeout=30, remaining=10)["status"] == "healthy"
    degraded = outcome("shop", checked("Degraded", message="CrashLoopBackOff"), timeout=30, remaining=10)
    assert degraded["status"] == "degraded" and f"{WEB}: CrashLoopBackOff" in degraded["message"]
    assert outcome("shop", checked("Progressing"), timeout=30, remaining=10) is None
    late = outcome("shop", checked("Progressing", message="0 of 1 available"), timeout=30, remaining=0)
    assert late["status"] == "timeout" and "still Progressing after 30s" in late["message"] and "0 of 1 available" in late["message"]


def test_a_failed_check_only_ends_the_wait_at_the_deadline() -> None:
    last = checked("Healthy")
    assert outcome("shop", last, timeout=30, remaining=5, error="ConnectionError: restarting") is None
    late = outcome("shop", {"health": "Unknown", "resources": {}}, timeout=30, remaining=0, error="ConnectionError: restarting")
    assert late["status"] == "timeout" and late["message"].endswith("ConnectionError: restarting")


def test_failure_rules() -> None:
    assert failure({"status": "healthy", "message": "ok"}, fail_on_timeout=True) == ""
    assert failure({"status": "degraded", "message": "bad"}, fail_on_timeout=False) == "bad"
    slow = failure({"status": "timeout", "message": "slow"}, fail_on_timeout=True)
    assert slow.startswith("slow") and "progressing_ok=true" in slow
    assert failure({"status": "timeout", "message": "slow"}, fail_on_timeout=False) == ""
    assert failure({"status": "not-waited", "message": "x"}, fail_on_timeout=True) == ""
