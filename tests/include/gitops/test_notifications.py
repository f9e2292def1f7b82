"""Which sync notifies what (Argo CD's trigger names), and how a webhook that does not answer is handled."""

from __future__ import annotations

import json
import socket

from include.gitops.history import HistoryEntry
from include.gitops.notifications import ON_DEPLOYED, ON_HEALTH_DEGRADED, ON_SYNC_FAILED, deliver, notifications_for

A, B = "a" * 40, "b" * 40


def entry(revision: str, result: str = "Succeeded", health: str = "Healthy", message: str = "") -> HistoryEntry:
    return HistoryEntry(app="shop", revision=revision, result=result, health=health, message=message,
                        repo_url="file:///m.git", path="apps/shop")


def triggers(new: HistoryEntry, earlier: list[HistoryEntry]) -> list[str]:
    return [n.trigger for n in notifications_for(new, earlier)]


def test_deployed_once_per_revision_and_again_after_a_rollback() -> None:
    assert triggers(entry(A), []) == [ON_DEPLOYED]
    assert triggers(entry(A), [entry(A)]) == []
    assert triggers(entry(B), [entry(A)]) == [ON_DEPLOYED]
    assert triggers(entry(A), [entry(A), entry(B)]) == [ON_DEPLOYED]  # rolled back to A: A is live again
    # a failed sync in between does not change what is deployed
    assert triggers(entry(A), [entry(A), entry(B, "Failed", "")]) == []


def test_failed_and_degraded_name_the_reason_and_the_fix() -> None:
    failed = notifications_for(entry(B, "Failed", "", "validate: Deployment.apps web is invalid"), [entry(A)])
    assert [n.trigger for n in failed] == [ON_SYNC_FAILED]
    assert "validate: Deployment.apps web is invalid" in failed[0].message and "sync again" in failed[0].message
    degraded = notifications_for(entry(B, "Degraded", "Degraded", "web: ProgressDeadlineExceeded"), [entry(A)])
    assert [n.trigger for n in degraded] == [ON_HEALTH_DEGRADED]
    assert "ProgressDeadlineExceeded" in degraded[0].message and "rollback=true" in degraded[0].message


def test_progressing_notifies_nothing() -> None:
    assert triggers(entry(A, "Progressing", "Progressing"), []) == []


def test_a_webhook_that_does_not_answer_is_recorded_not_raised(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    said: list[str] = []
    records = deliver(notifications_for(entry(A), []), webhooks=[dead], say=said.append, root=tmp_path)
    assert records[0]["failed"][dead].startswith("URLError")
    assert any("WARNING" in line and dead in line for line in said)
    lines = (tmp_path / "gitops" / "notifications.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["trigger"] == ON_DEPLOYED and json.loads(lines[0])["failed"]
