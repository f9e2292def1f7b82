"""The suite's schema: a batch whose columns differ from the suite's in any way stops at validation.

Fixture-driven: every ``testdata/schema/<case>.csv`` is a batch and ``<case>.json`` says what the
suite must find (``require_label``, ``success``, and the ``missing`` / ``unexpected`` / ``retyped``
columns). Adding a case means adding two files. The batch is read with ``read_batch``, the same
reader the validate task uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from include.mlops.constants import FEATURES, ID_COLUMN, LABEL
from include.mlops.suite import SCHEMA_EXPECTATIONS, SuiteOptions, expected_schema, suite_spec

SCHEMA_CASES = Path(__file__).parent / "testdata" / "schema"
CASES = sorted(p.stem for p in SCHEMA_CASES.glob("*.csv"))


def test_every_case_has_its_expectation_file():
    assert CASES, SCHEMA_CASES
    assert sorted(p.stem for p in SCHEMA_CASES.glob("*.json")) == CASES


@pytest.mark.parametrize("with_label", [True, False])
def test_spec_checks_the_exact_column_set_and_every_columns_type(with_label):
    spec = suite_spec(SuiteOptions(require_label=with_label))
    schema = expected_schema(with_label=with_label)
    assert set(schema) == {ID_COLUMN, *FEATURES, *([LABEL] if with_label else [])}
    sets = [kw for name, kw in spec if name == "ExpectTableColumnsToMatchSet"]
    assert sets == [{"column_set": list(schema), "exact_match": True}]
    typed = {kw["column"] for name, kw in spec if name in ("ExpectColumnValuesToBeOfType",
                                                             "ExpectColumnValuesToBeInTypeList")}
    assert typed == set(schema)


def test_a_production_batch_with_the_label_is_checked_against_the_labelled_schema():
    production = SuiteOptions(require_label=False)
    assert LABEL not in expected_schema(with_label=False)
    with_label = suite_spec(production, with_label=True)
    assert dict(with_label)["ExpectTableColumnsToMatchSet"]["column_set"] == list(expected_schema(with_label=True))
    # A training batch always needs the label, whatever the batch carries.
    assert suite_spec(SuiteOptions(), with_label=False) == suite_spec(SuiteOptions())


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_schema_case(case):
    from include.mlops.data import read_batch
    from include.mlops.suite import validate_frame

    expected = json.loads((SCHEMA_CASES / f"{case}.json").read_text())
    outcome = validate_frame(read_batch(SCHEMA_CASES / f"{case}.csv"),
                             SuiteOptions(require_label=expected["require_label"]))

    assert outcome.success is expected["success"], outcome.summary_lines()
    assert list(outcome.schema.missing) == expected["missing"]
    assert list(outcome.schema.unexpected) == expected["unexpected"]
    assert [col for col, _, _ in outcome.schema.retyped] == expected["retyped"]
    if expected["success"]:
        assert not outcome.schema and not outcome.failures
        return

    # The verdict is GX's: a failed schema expectation is in the validation report.
    failed = [r["expectation_config"]["type"] for r in outcome.raw["results"] if not r["success"]]
    assert set(failed) & set(SCHEMA_EXPECTATIONS), failed
    # The first failure (the first line of the validate task's error) names every differing
    # column, how it differs, and where to make the fix.
    first = outcome.failures[0]
    assert first.expectation in SCHEMA_EXPECTATIONS
    line = first.line()
    for kind in ("missing", "unexpected", "retyped"):
        for column in expected[kind]:
            assert f"{kind} " in line and repr(column) in line, (kind, column, line)
    assert "Fix:" in line and "include/mlops/suite.py" in line and "correct the batch" in line
    if len(expected["missing"]) == 1 and len(expected["unexpected"]) == 1:
        assert f"renamed {expected['missing'][0]!r} -> {expected['unexpected'][0]!r}?" in line
    # Schema failures come before the failures they cause (nulls, ranges, sets on a bad column).
    kinds = [f.expectation in SCHEMA_EXPECTATIONS for f in outcome.failures]
    assert kinds == sorted(kinds, reverse=True)
