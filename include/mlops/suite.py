"""The data-quality gate as code: a Great Expectations 1.x suite and a readable summary of a result.

The suite is first written as plain data (:func:`suite_spec`: a list of ``(expectation class,
kwargs)``) so that a test can read what is checked without importing GX; :func:`build_suite`
turns it into a ``gx.ExpectationSuite`` and :func:`validate_frame` runs it on a DataFrame in an
ephemeral context (no files, no config).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from include.mlops.constants import CATEGORICAL_FEATURES, CATEGORY_VALUES, ID_COLUMN, LABEL, NUMERIC_FEATURES

SUITE_NAME = "delivery_batch"
NUMERIC_TYPES = ["float64", "float32", "int64", "int32", "Float64", "Int64", "float", "int"]
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


def suite_spec(options: SuiteOptions | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The expectations, as ``(GX expectation class name, kwargs)`` pairs, in a stable order."""
    o = options or SuiteOptions()
    spec: list[tuple[str, dict[str, Any]]] = [
        ("ExpectTableRowCountToBeBetween", {"min_value": o.min_rows, "max_value": o.max_rows}),
    ]
    required = [ID_COLUMN, *NUMERIC_FEATURES, *CATEGORICAL_FEATURES] + ([LABEL] if o.require_label else [])
    for col in required:
        spec.append(("ExpectColumnToExist", {"column": col}))
    spec.append(("ExpectColumnValuesToNotBeNull", {"column": ID_COLUMN}))
    spec.append(("ExpectColumnValuesToBeUnique", {"column": ID_COLUMN}))
    for col in NUMERIC_FEATURES:
        low, high = NUMERIC_BOUNDS[col]
        spec.append(("ExpectColumnValuesToBeInTypeList", {"column": col, "type_list": NUMERIC_TYPES}))
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
    if o.require_label:
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


@dataclass
class ValidationOutcome:
    """The suite's verdict on one batch: success, statistics, failures, and the raw GX result."""

    success: bool
    evaluated: int
    successful: int
    failures: list[Failure]
    raw: dict[str, Any]

    def summary_lines(self) -> list[str]:
        head = f"{self.successful}/{self.evaluated} expectations passed"
        return [head] + [f"FAILED {f.line()}" for f in self.failures]


def validate_frame(frame, options: SuiteOptions | None = None,
                   spec: list[tuple[str, dict[str, Any]]] | None = None) -> ValidationOutcome:
    """Run the suite (or an explicit ``spec``) on ``frame`` in an ephemeral GX context; summarise the result."""
    import logging

    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
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
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
    )
    return summarize(result.to_json_dict(), columns=[str(c) for c in frame.columns])


def summarize(raw: dict[str, Any], columns: list[str] | None = None) -> ValidationOutcome:
    """Turn a GX validation result (its JSON dict) into a :class:`ValidationOutcome`.

    ``columns`` (the batch's columns) lets a failure on a missing column say so plainly.
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
        elif "observed_value" in result:
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
    stats = raw.get("statistics", {})
    return ValidationOutcome(
        success=bool(raw.get("success")),
        evaluated=int(stats.get("evaluated_expectations", 0)),
        successful=int(stats.get("successful_expectations", 0)),
        failures=failures,
        raw=raw,
    )


def read_failure_outcome(message: str) -> ValidationOutcome:
    """The outcome for a batch that could not even be read (empty, corrupt, unsupported)."""
    failure = Failure(expectation="file_is_readable", column=None, unexpected_count=None, unexpected_percent=None,
                      detail=message)
    raw = {"success": False, "read_error": message, "results": [], "statistics": {"evaluated_expectations": 1,
                                                                                    "successful_expectations": 0}}
    return ValidationOutcome(success=False, evaluated=1, successful=0, failures=[failure], raw=raw)
