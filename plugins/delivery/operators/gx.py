"""Great Expectations gate operator: validate a batch file, write reports, quarantine bad batches."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from delivery.failures import step


class GXValidateOperator(BaseOperator):
    """Validate a batch file with the project's expectation suite (``include.mlops.suite``).

    Writes ``validation.json`` (the GX result, with the batch's sha256) and Great Expectations' own
    Data Docs (a file data context in ``gx/``; the page of this validation is ``data_docs`` in the
    result) into the run's report folder. On failure it logs every failed expectation with counts and examples,
    copies the batch to ``<state>/quarantine/<dag_id>/<run_id>/`` and fails the task without
    retries, so that nothing downstream (training, registering) runs.

    :param data_path: the batch file, CSV or Parquet. (templated)
    :param require_label: the batch must carry the label column (training: yes; production: no).
    :param suite_options: overrides of :class:`include.mlops.suite.SuiteOptions` (e.g. ``min_rows``).
    :param report_folder: where to write the reports; default the run's report folder. (templated)
    :param quarantine: copy a failing batch to the quarantine folder.
    """

    template_fields: Sequence[str] = ("data_path", "report_folder")
    ui_color = "#ffefd5"

    def __init__(
        self,
        *,
        data_path: str,
        require_label: bool = True,
        suite_options: dict[str, Any] | None = None,
        report_folder: str | None = None,
        quarantine: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.data_path = data_path
        self.require_label = require_label
        self.suite_options = suite_options or {}
        self.report_folder = report_folder
        self.quarantine = quarantine

    @step("validate")
    def execute(self, context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from delivery.runs import report_folder
        from include.common.errors import InputError
        from include.common.paths import state_dir
        from include.common.reports import write_report
        from include.mlops import data, suite

        folder = Path(self.report_folder) if self.report_folder else report_folder(context)
        path = Path(self.data_path)
        options = suite.SuiteOptions(**{"require_label": self.require_label, **self.suite_options})
        batch: dict[str, Any] = {"path": str(path)}
        try:
            frame = data.read_batch(path)
            batch.update(rows=len(frame), columns=len(frame.columns), sha256=data.file_sha256(path))
            outcome = suite.validate_frame(frame, options, docs_dir=folder)
        except InputError as exc:
            outcome = suite.read_failure_outcome(str(exc))
        json_path = write_report(folder, "validation.json",
                                 {"batch": batch, "data_docs": outcome.data_docs, **outcome.raw})
        html_path = outcome.data_docs or json_path  # a batch that could not be read has no Data Docs
        for line in outcome.summary_lines():
            self.log.info("%s", line)
        self.log.info("Validation report (Great Expectations Data Docs): %s (JSON: %s)", html_path, json_path)
        result = {
            "success": outcome.success,
            "path": str(path),
            "evaluated": outcome.evaluated,
            "successful": outcome.successful,
            "failures": [f.line() for f in outcome.failures],
            "report_json": str(json_path),
            "report_html": str(html_path),
        }
        if outcome.success:
            return result
        quarantined = None
        if self.quarantine and path.is_file():
            qdir = state_dir() / "quarantine" / context["ti"].dag_id / folder.name
            qdir.mkdir(parents=True, exist_ok=True)
            quarantined = qdir / path.name
            shutil.copy2(path, quarantined)
            self.log.error("Batch quarantined at %s", quarantined)
        failed = "; ".join(f.line() for f in outcome.failures[:8])
        raise AirflowFailException(
            f"Batch {path} failed validation ({len(outcome.failures)} of {outcome.evaluated} expectations failed): "
            f"{failed}. Nothing was trained or registered. Fix: correct the batch (see {html_path})"
            + (f"; the batch was quarantined at {quarantined}" if quarantined else "")
        )
