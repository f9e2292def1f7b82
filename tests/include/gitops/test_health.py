"""Health checks driven by fixture files: ``testdata/<kind>-<state>[-<case>].yaml``.

Adding a case means adding a file: the expected status is the second word of its name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.gitops.health import HealthCode, HealthStatus, check_for, health_of, worst

TESTDATA = Path(__file__).parent / "testdata"
HEALTH_FILES = sorted(p for p in TESTDATA.glob("*.yaml") if p.stem.split("-")[1] in {c.value.lower() for c in HealthCode})


def assert_health(path: Path, expected: HealthCode) -> HealthStatus:
    status = health_of(yaml.safe_load(path.read_text()))
    assert status is not None, f"{path.name}: no health check for this kind"
    assert status.code == expected, f"{path.name}: expected {expected.value}, got {status.code.value} ({status.message})"
    return status


@pytest.mark.parametrize("path", HEALTH_FILES, ids=lambda p: p.stem)
def test_health_fixture(path: Path) -> None:
    expected = HealthCode(path.stem.split("-")[1].capitalize())
    assert_health(path, expected)


def test_every_kind_has_fixtures() -> None:
    kinds = {p.stem.split("-")[0] for p in HEALTH_FILES}
    assert {"deployment", "statefulset", "daemonset", "job", "pod", "service", "pvc", "crd",
            "ingress", "hpa", "cronjob"} <= kinds


def test_raising_check_becomes_unknown_with_message() -> None:
    status = assert_health(TESTDATA / "deployment-unknown-broken.yaml", HealthCode.UNKNOWN)
    assert "TypeError" in status.message


def test_missing_and_no_health_kinds() -> None:
    assert health_of(None).code == HealthCode.MISSING
    assert health_of({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}) is None
    assert check_for("apps", "Deployment") is not None
    assert check_for("", "Deployment") is None  # dispatch is on (group, kind)


def test_worst_wins_in_argo_order() -> None:
    assert worst([]) == HealthCode.HEALTHY
    assert worst([HealthCode.HEALTHY, HealthCode.PROGRESSING, HealthCode.SUSPENDED]) == HealthCode.PROGRESSING
    assert worst([HealthCode.MISSING, HealthCode.DEGRADED]) == HealthCode.DEGRADED
    assert worst([HealthStatus(HealthCode.UNKNOWN), HealthStatus(HealthCode.DEGRADED)]) == HealthCode.UNKNOWN
    order = [c.rank for c in (HealthCode.HEALTHY, HealthCode.SUSPENDED, HealthCode.PROGRESSING,
                              HealthCode.MISSING, HealthCode.DEGRADED, HealthCode.UNKNOWN)]
    assert order == sorted(order)


DB_RULES = """
- group: db.example.com
  kind: Database
  rules:
    - when: {condition: Ready, status: "False"}
      health: Degraded
    - when: {field: status.phase, in: [Pending, Provisioning]}
      health: Progressing
      message: database is being provisioned
    - when: {condition: Ready, status: "True"}
      health: Healthy
  default: Progressing
"""


def database(status: dict) -> dict:
    return {"apiVersion": "db.example.com/v1", "kind": "Database", "metadata": {"name": "orders"}, "status": status}


def test_custom_health_rules_as_data(tmp_path, monkeypatch) -> None:
    rules = tmp_path / "health.yaml"
    rules.write_text(DB_RULES)
    assert health_of(database({})) is None  # no rules file: a custom resource has no health
    monkeypatch.setenv("DELIVERY_HEALTH_RULES", str(rules))
    failing = health_of(database({"conditions": [{"type": "Ready", "status": "False", "message": "disk full"}]}))
    assert failing == HealthStatus(HealthCode.DEGRADED, "disk full")
    assert health_of(database({"phase": "Provisioning"})) == HealthStatus(HealthCode.PROGRESSING,
                                                                           "database is being provisioned")
    assert health_of(database({"conditions": [{"type": "Ready", "status": "True"}]})).code == HealthCode.HEALTHY
    assert health_of(database({"phase": "Odd"})).code == HealthCode.PROGRESSING  # the default
    other = {"apiVersion": "db.example.com/v1", "kind": "Backup", "metadata": {"name": "b"}}
    assert health_of(other) is None  # only the kinds with rules


def test_a_broken_rules_file_names_the_entry_and_the_fix(tmp_path, monkeypatch) -> None:
    rules = tmp_path / "health.yaml"
    rules.write_text("- {group: db.example.com, kind: Database, rules: [{when: {condition: Ready}, health: Fine}]}\n")
    monkeypatch.setenv("DELIVERY_HEALTH_RULES", str(rules))
    status = health_of(database({}))
    assert status.code == HealthCode.UNKNOWN
    assert "health.yaml entry 1" in status.message and "Healthy, Suspended" in status.message
