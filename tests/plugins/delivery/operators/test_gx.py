"""GXValidateOperator: reports on success; on failure a readable error, quarantine, no retry."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from delivery.operators.gx import GXValidateOperator

BATCHES = Path(__file__).parents[3] / "dags" / "mlops_batches"


def _context(run_id="manual__t1"):
    return {"ti": SimpleNamespace(dag_id="mlops_test"), "run_id": run_id}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    return tmp_path


@pytest.mark.slow
def test_clean_batch_passes_and_writes_reports(state):
    from include.mlops.data import generate_batch, write_batch

    path = write_batch(generate_batch(120, seed=1), state / "clean.csv")
    result = GXValidateOperator(task_id="v", data_path=str(path)).execute(_context())
    assert result["success"] and result["evaluated"] > 40
    assert json.loads(Path(result["report_json"]).read_text())["success"] is True
    page = Path(result["report_html"])  # Great Expectations' own Data Docs page of this validation
    assert "data_docs/local_site/validations/delivery_batch" in str(page)
    assert "Expectation Suite: delivery_batch" in " ".join(re.sub(r"<[^>]+>", " ", page.read_text()).split())
    assert not (state / "quarantine").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case,words", [("null_spike", "expect_column_values_to_not_be_null on column 'mean_radius'"),
                                        ("empty", "empty"), ("unreadable", "not UTF-8")])
def test_bad_batch_fails_without_retry_and_is_quarantined(state, case, words):
    from airflow.sdk.exceptions import AirflowFailException

    source = BATCHES / f"{case}.csv"
    op = GXValidateOperator(task_id="v", data_path=str(source))
    with pytest.raises(AirflowFailException) as err:
        op.execute(_context())
    message = str(err.value)
    assert words in message and "Nothing was trained or registered" in message and "Fix:" in message
    copies = list((state / "quarantine").rglob(source.name))
    assert len(copies) == 1 and copies[0].read_bytes() == source.read_bytes()
    report = json.loads(next((state / "reports").rglob("validation.json")).read_text())
    assert report["success"] is False


def test_templated_fields_are_documented():
    assert set(GXValidateOperator.template_fields) == {"data_path", "report_folder"}
    for field in GXValidateOperator.template_fields:
        assert f":param {field}:" in GXValidateOperator.__doc__ and "(templated)" in GXValidateOperator.__doc__
