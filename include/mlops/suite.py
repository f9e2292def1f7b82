"""The data-quality gate as code: a Great Expectations 1.x suite and a readable summary of a result.

The suite is first written as plain data (:func:`suite_spec`: a list of ``(expectation class,
kwargs)``) so that a test can read what is checked without importing GX; :func:`build_suite`
turns it into a ``gx.ExpectationSuite`` and :func:`validate_frame` runs it on a DataFrame in an
ephemeral context (no files, no config).

The batch's schema is part of the suite: :func:`expected_schema` names every column and the
types it may have, and the suite checks the exact column set (``ExpectTableColumnsToMatchSet``,
``exact_match=True``; the order of the columns does not matter) and each column's type. A batch
with a column missing, renamed, retyped or one too many fails; accepting a new schema is an
explicit change of :func:`expected_schema` (and ``include/mlops/constants.py``), never a side
effect of a batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from include.mlops.constants import CATEGORICAL_FEATURES, CATEGORY_VALUES, ID_COLUMN, LABEL, NUMERIC_FEATURES

SUITE_NAME = "delivery_batch"
# GX type names as ``ExpectColumnValuesToBeInTypeList`` understands them for pandas: numpy dtype
# names, and the pandas nullable dtypes by class name (``"Int64"`` alone matches nothing).
INTEGER_TYPES = ["int64", "int32", "Int64Dtype", "Int32Dtype"]
NUMERIC_TYPES = ["float64", "float32", "Float64Dtype", *INTEGER_TYPES]
# Text columns are checked with ``ExpectColumnValuesToBeOfType("str")``: pandas 3 reads text as
# its ``str`` dtype, which ``ExpectColumnValuesToBeInTypeList`` never matches (GX 1.24 compares the
# dtype instance with type objects); ``OfType`` compares the dtype's scalar type, and on an
# ``object`` column checks every value.
TEXT_TYPE = "str"
# Where a person changes the schema (said in every schema failure).
SCHEMA_FIX = ("Fix: correct the batch to the suite's schema, or, if the new schema is intended, change the suite "
              "(expected_schema in include/mlops/suite.py, columns in include/mlops/constants.py) in a reviewed "
              "commit; a batch never changes the suite")
# Physical measurements are never negative; the upper bounds are 3x the base data's maxima.
NUMERIC_BOUNDS = {
    "mean_radius": (0.0, 85.0),
    "mean_texture": (0.0, 120.0),
    "mean_perimeter": (0.0, 570.0),
    "mean_area": (0.0, 7600.0),
    "mean_smoothness": (0.0, 0.5),
    "mean_compactness": (0.0, 1.1),
    "mean_concavity": (0.0, 1.3),
    "mean_concave_points": (0.0, 0.7),
    "mean_symmetry": (0.0, 0.9),
    "mean_fractal_dimension": (0.0, 0.3),
}


@dataclass(frozen=True)
class SuiteOptions:
    """Knobs of the suite (the defaults are the production gate)."""

    require_label: bool = True
    min_rows: int = 10
    max_rows: int = 5_000_000
    max_null_fraction: float = 0.05
    max_out_of_range_fraction: float = 0.01
    # A few rows with an unseen category are drift (the monitor reports them); a flood is an error.
    max_unknown_category_fraction: float = 0.2


def expected_schema(with_label: bool = True) -> dict[str, list[str]]:
    """The batch's exact columns, each with the type names it may have (column order is free).

    ``with_label=False`` is the production batch without the label column. This is the one place
    where the schema changes.
    """
    schema: dict[str, list[str]] = {ID_COLUMN: INTEGER_TYPES}
    schema.update({col: NUMERIC_TYPES for col in NUMERIC_FEATURES})
    schema.update({col: [TEXT_TYPE] for col in CATEGORICAL_FEATURES})
    if with_label:
        schema[LABEL] = INTEGER_TYPES
    return {col: list(types) for col, types in schema.items()}


def _type_expectation(column: str, types: list[str]) -> tuple[str, dict[str, Any]]:
    if types == [TEXT_TYPE]:
        return "ExpectColumnValuesToBeOfType", {"column": column, "type_": TEXT_TYPE}
    return "ExpectColumnValuesToBeInTypeList", {"column": column, "type_list": list(types)}


# The GX result types of the schema's expectations, in the order their failures are listed.
SCHEMA_EXPECTATIONS = (
    "expect_table_columns_to_match_set",
    "expect_column_values_to_be_of_type",
    "expect_column_values_to_be_in_type_list",
)


def suite_spec(
    options: SuiteOptions | None = None, *, with_label: bool | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """The expectations, as ``(GX expectation class name, kwargs)`` pairs, in a stable order.

    ``with_label`` picks the schema with or without the label column; default: with it exactly
    when ``options.require_label``. A production batch (``require_label=False``) that carries the
    label is checked against the labelled schema (:func:`validate_frame` decides), so its label
    is checked too: the monitor measures performance decay with it.
    """
    o = options or SuiteOptions()
    labelled = o.require_label if with_label is None else (with_label or o.require_label)
    schema = expected_schema(with_label=labelled)
    spec: list[tuple[str, dict[str, Any]]] = [
        ("ExpectTableRowCountToBeBetween", {"min_value": o.min_rows, "max_value": o.max_rows}),
        ("ExpectTableColumnsToMatchSet", {"column_set": list(schema), "exact_match": True}),
    ]
    spec.extend(_type_expectation(col, types) for col, types in schema.items())
    spec.append(("ExpectColumnValuesToNotBeNull", {"column": ID_COLUMN}))
    spec.append(("ExpectColumnValuesToBeUnique", {"column": ID_COLUMN}))
    for col in NUMERIC_FEATURES:
        low, high = NUMERIC_BOUNDS[col]
        spec.append(("ExpectColumnValuesToNotBeNull", {"column": col, "mostly": 1 - o.max_null_fraction}))
        spec.append(
            (
                "ExpectColumnValuesToBeBetween",
                {"column": col, "min_value": low, "max_value": high, "mostly": 1 - o.max_out_of_range_fraction},
            )
        )
    for col in CATEGORICAL_FEATURES:
        spec.append(("ExpectColumnValuesToNotBeNull", {"column": col, "mostly": 1 - o.max_null_fraction}))
        spec.append(
            (
                "ExpectColumnValuesToBeInSet",
                {"column": col, "value_set": list(CATEGORY_VALUES[col]), "mostly": 1 - o.max_unknown_category_fraction},
            )
        )
    if labelled:
        spec.append(("ExpectColumnValuesToNotBeNull", {"column": LABEL}))
        spec.append(("ExpectColumnValuesToBeInSet", {"column": LABEL, "value_set": [0, 1]}))
    return spec


def build_suite(options: SuiteOptions | None = None, spec: list[tuple[str, dict[str, Any]]] | None = None):
    """The GX ``ExpectationSuite`` for :func:`suite_spec` (or for an explicit ``spec``)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for name, kwargs in spec if spec is not None else suite_spec(options):
        suite.add_expectation(getattr(gx.expectations, name)(**kwargs))
    return suite


@dataclass
class Failure:
    """One failed expectation, in words a person reads in a task log."""

    expectation: str
    column: str | None
    unexpected_count: int | None
    unexpected_percent: float | None
    examples: list[Any] = field(default_factory=list)
    detail: str = ""

    def line(self) -> str:
        where = f"column {self.column!r}" if self.column else "table"
        parts = [f"{self.expectation} on {where}"]
        if self.unexpected_count is not None:
            pct = f" ({self.unexpected_percent:.1f} %)" if self.unexpected_percent is not None else ""
            parts.append(f"{self.unexpected_count} unexpected value(s){pct}")
        if self.examples:
            parts.append(f"examples {self.examples[:5]!r}")
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if len(parts) > 1 else "")


@dataclass(frozen=True)
class SchemaDiff:
    """How a batch's columns differ from :func:`expected_schema`: names, and ``column -> observed type``."""

    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    retyped: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (column, observed, expected types)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.retyped)

    def line(self) -> str:
        """One sentence naming every differing column, then the fix."""
        parts = []
        if self.missing:
            parts.append(f"missing {list(self.missing)!r}")
        if self.unexpected:
            parts.append(f"unexpected {list(self.unexpected)!r}")
        if len(self.missing) == 1 and len(self.unexpected) == 1:
            parts.append(f"renamed {self.missing[0]!r} -> {self.unexpected[0]!r}?")
        if self.retyped:
            parts.append("retyped " + ", ".join(
                f"{col!r} is {observed} (the suite expects {_expected_words(expected)})"
                for col, observed, expected in self.retyped))
        return "the batch's columns differ from the suite's: " + "; ".join(parts) + ". " + SCHEMA_FIX


def _expected_words(types) -> str:
    types = list(types)
    return types[0] if len(types) == 1 else "one of " + ", ".join(types)


@dataclass
class ValidationOutcome:
    """The suite's verdict on one batch: success, statistics, failures, and the raw GX result.

    ``failures`` lists the schema's failures first (columns, then types); ``schema`` says how the
    batch's columns differ from the suite's (empty when they match).
    """

    success: bool
    evaluated: int
    successful: int
    failures: list[Failure]
    raw: dict[str, Any]
    schema: SchemaDiff = field(default_factory=SchemaDiff)
    data_docs: str = ""  # Great Expectations' own page of this validation (only with a docs folder)

    def summary_lines(self) -> list[str]:
        head = f"{self.successful}/{self.evaluated} expectations passed"
        return [head] + [f"FAILED {f.line()}" for f in self.failures]


def validate_frame(frame, options: SuiteOptions | None = None,
                   spec: list[tuple[str, dict[str, Any]]] | None = None,
                   docs_dir: str | Path | None = None) -> ValidationOutcome:
    """Run the suite (or an explicit ``spec``) on ``frame``; summarise the result.

    Without ``spec``, a batch that carries the label column is checked against the labelled
    schema even when the label is not required (the production batch of the drift monitor).
    With ``docs_dir`` the run goes through a file data context there, and a checkpoint whose
    ``UpdateDataDocsAction`` builds GX's Data Docs (``outcome.data_docs`` is its page of this
    validation); without it, an ephemeral context (nothing written).
    """
    import logging

    import great_expectations as gx

    columns = [str(c) for c in frame.columns]
    if spec is None:
        spec = suite_spec(options, with_label=LABEL in columns)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = (gx.get_context(mode="file", project_root_dir=str(docs_dir)) if docs_dir
               else gx.get_context(mode="ephemeral"))
    try:  # no progress bars in task logs
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    source = context.data_sources.add_pandas(name="batches")
    asset = source.add_dataframe_asset(name="batch")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = context.suites.add(build_suite(options, spec))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="gate", data=batch_definition, suite=suite)
    )
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
    if not docs_dir:
        result = definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
        return summarize(result.to_json_dict(), columns=columns)
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="gate", validation_definitions=[definition], result_format=result_format,
        actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")]))
    result = next(iter(checkpoint.run(batch_parameters={"dataframe": frame}).run_results.values()))
    outcome = summarize(result.to_json_dict(), columns=columns)
    return replace(outcome, data_docs=str(_validation_page(Path(docs_dir))))


def _validation_page(docs_dir: Path) -> Path:
    """GX's Data Docs page of the newest validation in ``docs_dir`` (the index when there is none)."""
    site = docs_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    pages = sorted((site / "validations").rglob("*.html"), key=lambda p: p.stat().st_mtime)
    return pages[-1] if pages else site / "index.html"


def _observed_type(result: dict[str, Any]) -> str:
    """The observed type of a failed type expectation, in words."""
    if result.get("observed_value") not in (None, ""):
        return repr(str(result["observed_value"]))
    # An ``object`` column is checked value by value: say which values are of another type.
    examples = list(result.get("partial_unexpected_list") or [])[:3]
    return f"object with {result.get('unexpected_count')} value(s) of another type (e.g. {examples!r})"


def schema_diff(raw: dict[str, Any], columns: list[str] | None = None) -> SchemaDiff:
    """How the batch's columns differ from the suite's, read from a GX result (its JSON dict)."""
    missing: list[str] = []
    unexpected: list[str] = []
    retyped: list[tuple[str, str, tuple[str, ...]]] = []
    for res in raw.get("results", []):
        if res.get("success"):
            continue
        config = res.get("expectation_config", {})
        kind, kwargs = config.get("type"), config.get("kwargs", {})
        result = res.get("result", {}) or {}
        if kind == "expect_table_columns_to_match_set":
            mismatched = (result.get("details") or {}).get("mismatched") or {}
            missing += mismatched.get("missing", [])
            unexpected += mismatched.get("unexpected", [])
        elif kind in SCHEMA_EXPECTATIONS:
            column = kwargs.get("column")
            if columns is not None and column not in columns:
                continue  # missing, not retyped
            expected = tuple(kwargs.get("type_list") or [kwargs.get("type_")])
            retyped.append((column, _observed_type(result), expected))
    return SchemaDiff(tuple(sorted(missing)), tuple(sorted(unexpected)), tuple(sorted(retyped)))


def summarize(raw: dict[str, Any], columns: list[str] | None = None) -> ValidationOutcome:
    """Turn a GX validation result (its JSON dict) into a :class:`ValidationOutcome`.

    ``columns`` (the batch's columns) lets a failure on a missing column say so plainly. The
    first schema failure carries the whole :class:`SchemaDiff` and its fix, so the first line of
    a failed task's message names every differing column.
    """
    failures = []
    for res in raw.get("results", []):
        if res.get("success"):
            continue
        config = res.get("expectation_config", {})
        kwargs = config.get("kwargs", {})
        result = res.get("result", {}) or {}
        exc = res.get("exception_info", {}) or {}
        detail = ""
        if columns is not None and kwargs.get("column") and kwargs["column"] not in columns:
            detail = "the column is missing from the batch"
        elif exc.get("raised_exception"):
            detail = "could not be evaluated: " + str(exc.get("exception_message", "")).splitlines()[0][:200]
        elif config.get("type") in SCHEMA_EXPECTATIONS[1:]:
            expected = kwargs.get("type_list") or [kwargs.get("type_")]
            detail = f"retyped: observed {_observed_type(result)}, the suite expects {_expected_words(expected)}"
        elif "observed_value" in result and config.get("type") not in SCHEMA_EXPECTATIONS:
            detail = f"observed {result['observed_value']!r}"
            if kwargs.get("min_value") is not None or kwargs.get("max_value") is not None:
                detail += f", expected between {kwargs.get('min_value')} and {kwargs.get('max_value')}"
        failures.append(
            Failure(
                expectation=config.get("type", "?"),
                column=kwargs.get("column"),
                unexpected_count=result.get("unexpected_count"),
                unexpected_percent=result.get("unexpected_percent"),
                examples=list(result.get("partial_unexpected_list") or [])[:5],
                detail=detail,
            )
        )
    # Schema first (column set, then types), then the rest in the suite's order.
    failures.sort(key=lambda f: SCHEMA_EXPECTATIONS.index(f.expectation) if f.expectation in SCHEMA_EXPECTATIONS
                  else len(SCHEMA_EXPECTATIONS))
    diff = schema_diff(raw, columns)
    if diff:
        first = next(f for f in failures if f.expectation in SCHEMA_EXPECTATIONS)
        first.detail = diff.line()
    stats = raw.get("statistics", {})
    return ValidationOutcome(
        success=bool(raw.get("success")),
        evaluated=int(stats.get("evaluated_expectations", 0)),
        successful=int(stats.get("successful_expectations", 0)),
        failures=failures,
        raw=raw,
        schema=diff,
    )


def read_failure_outcome(message: str) -> ValidationOutcome:
    """The outcome for a batch that could not even be read (empty, corrupt, unsupported)."""
    failure = Failure(expectation="file_is_readable", column=None, unexpected_count=None, unexpected_percent=None,
                      detail=message)
    raw = {"success": False, "read_error": message, "results": [], "statistics": {"evaluated_expectations": 1,
                                                                                    "successful_expectations": 0}}
    return ValidationOutcome(success=False, evaluated=1, successful=0, failures=[failure], raw=raw)
