"""The real Airflow (standalone) lists every project DAG without import errors, and its REST API
rejects a bad param value with a readable message that names the param, creating no run."""

from __future__ import annotations

import pytest

from e2e.airflow_api import project_dag_ids

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def bad_value(schema: dict):
    """A value that the param's JSON schema must reject, or None when we cannot build one."""
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "null" in kinds:
        return None  # anything goes with null allowed; pick another param
    if schema.get("enum"):
        return "no-such-choice-zz"
    if kinds & {"integer", "number"}:
        return "not-a-number"
    if "boolean" in kinds:
        return "maybe"
    if kinds & {"array", "object"}:
        return 12345
    if "string" in kinds:
        return 12345
    return None


def test_every_project_dag_is_listed_without_import_errors(airflow_api):
    expected = project_dag_ids()
    listed = airflow_api.wait_for_dags(expected)
    errors = airflow_api.import_errors()
    assert errors == [], "import errors: " + "\n".join(f"{e['filename']}: {e['stack_trace'][-800:]}" for e in errors)
    assert expected <= set(listed)
    for dag_id in expected:
        assert listed[dag_id]["is_stale"] is False, f"{dag_id} is marked stale"


def test_bad_param_value_is_rejected_with_a_readable_message(airflow_api):
    expected = project_dag_ids()
    if not expected:
        pytest.skip("dags/ defines no DAG yet")
    airflow_api.wait_for_dags(expected)
    checked = []
    for dag_id in sorted(expected):
        params = airflow_api.params(dag_id)
        for name, spec in params.items():
            schema = (spec or {}).get("schema") or {}
            value = bad_value(schema)
            if value is None:
                continue
            before = len(airflow_api.runs(dag_id))
            resp = airflow_api.trigger_raw(dag_id, {"logical_date": None, "conf": {name: value}})
            assert resp.status_code in (400, 422), f"{dag_id}.{name}={value!r}: got {resp.status_code} {resp.text}"
            detail = resp.json().get("detail")
            text = detail if isinstance(detail, str) else str(detail)
            assert name in text, f"{dag_id}: the message does not name the param {name!r}: {text}"
            assert len(airflow_api.runs(dag_id)) == before, f"{dag_id}: a run was created for a bad param"
            checked.append(f"{dag_id}.{name}")
            break
    assert checked, "no DAG has a typed param to check"


def test_trigger_without_logical_date_is_rejected(airflow_api):
    """The REST contract users hit first: ``logical_date`` must be in the body (null allowed)."""
    expected = sorted(project_dag_ids())
    if not expected:
        pytest.skip("dags/ defines no DAG yet")
    airflow_api.wait_for_dags(expected)
    resp = airflow_api.trigger_raw(expected[0], {"conf": {}})
    assert resp.status_code == 422
    assert "logical_date" in resp.text
