"""The expectation suite: what it checks, and that each kind of bad batch trips the right expectation."""

from __future__ import annotations

import pytest

from include.mlops.constants import CATEGORICAL_FEATURES, FEATURES, ID_COLUMN, LABEL, NUMERIC_FEATURES
from include.mlops.data import generate_batch
from include.mlops.suite import SuiteOptions, suite_spec, validate_frame


def _kinds(spec, column):
    return {name for name, kw in spec if kw.get("column") == column}


def test_spec_covers_columns_types_nulls_ranges_sets_rows_uniqueness():
    spec = suite_spec()
    names = {name for name, _ in spec}
    assert {"ExpectTableRowCountToBeBetween", "ExpectTableColumnsToMatchSet"} <= names
    for col in NUMERIC_FEATURES:
        assert {"ExpectColumnValuesToBeInTypeList", "ExpectColumnValuesToNotBeNull",
                "ExpectColumnValuesToBeBetween"} <= _kinds(spec, col), col
    for col in CATEGORICAL_FEATURES:
        assert {"ExpectColumnValuesToBeOfType", "ExpectColumnValuesToBeInSet"} <= _kinds(spec, col), col
    assert "ExpectColumnValuesToBeUnique" in _kinds(spec, ID_COLUMN)
    assert "ExpectColumnValuesToBeInSet" in _kinds(spec, LABEL)


def test_label_is_optional_for_production_batches():
    spec = suite_spec(SuiteOptions(require_label=False))
    assert not _kinds(spec, LABEL)
    assert all(_kinds(spec, c) for c in FEATURES)


@pytest.fixture(scope="module")
def clean():
    return generate_batch(300, seed=5)


@pytest.mark.slow
def test_clean_batch_passes(clean):
    outcome = validate_frame(clean)
    assert outcome.success, outcome.summary_lines()
    assert outcome.evaluated == len(suite_spec())


BAD = [
    # id, changes, (expectation type, column) that must be among the failures
    ("null spike", {"nulls": {"mean_radius": 0.4}}, ("expect_column_values_to_not_be_null", "mean_radius")),
    ("type change", {"type_change": ["mean_area"]}, ("expect_column_values_to_be_in_type_list", "mean_area")),
    ("out of range", {"out_of_range": {"mean_texture": 0.2}}, ("expect_column_values_to_be_between", "mean_texture")),
    ("missing column", {"drop": ["mean_symmetry"]}, ("expect_table_columns_to_match_set", None)),
    ("flood of unknown categories", {"new_categories": {"clinic": ["mars", 0.6]}},
     ("expect_column_values_to_be_in_set", "clinic")),
]


@pytest.mark.slow
@pytest.mark.parametrize("changes,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_batch_fails_the_right_expectation(changes, expected):
    outcome = validate_frame(generate_batch(300, seed=5, changes=changes))
    assert not outcome.success
    found = {(f.expectation, f.column) for f in outcome.failures}
    assert expected in found, found
    failure = next(f for f in outcome.failures if (f.expectation, f.column) == expected)
    named = expected[1] or changes["drop"][0]  # a table-level failure names the missing column
    assert repr(named) in failure.line()


@pytest.mark.slow
def test_failure_lines_give_counts_and_examples():
    outcome = validate_frame(generate_batch(200, seed=5, changes={"out_of_range": {"mean_radius": 0.25}}))
    failure = next(f for f in outcome.failures if f.column == "mean_radius")
    assert failure.unexpected_count and failure.unexpected_count > 20
    assert failure.examples and all(v < 0 for v in failure.examples)
    assert "unexpected value(s)" in failure.line() and "examples" in failure.line()


@pytest.mark.slow
def test_duplicate_ids_and_tiny_batches_fail(clean):
    dup = clean.copy()
    dup[ID_COLUMN] = 7
    found = {(f.expectation, f.column) for f in validate_frame(dup).failures}
    assert ("expect_column_values_to_be_unique", ID_COLUMN) in found
    tiny = validate_frame(clean.head(3))
    assert ("expect_table_row_count_to_be_between", None) in {(f.expectation, f.column) for f in tiny.failures}
