"""MLflow logging helpers. The client (``MlflowClient``) is always passed in, never created here."""

from __future__ import annotations

import time
from typing import Any, Callable


def trial_logger(client, experiment_id: str, parent_run_id: str | None, *, worker: int = 0) -> Callable:
    """An Optuna callback that logs each finished trial as a nested MLflow run under ``parent_run_id``.

    A trial is logged once, when it ends (COMPLETE, PRUNED or FAIL): a trial lost with a dead
    worker is never logged, its retried copy is. Trials refused by the shared budget are not logged.
    """
    from mlflow.entities import Metric, Param, RunTag

    def callback(study, trial) -> None:
        if trial.user_attrs.get("budget_exhausted"):
            return
        tags = {
            "mlflow.runName": f"trial-{trial.number}",
            "optuna.study": study.study_name,
            "optuna.trial_number": str(trial.number),
            "optuna.state": trial.state.name,
            "optuna.worker": str(worker),
        }
        if trial.user_attrs.get("host"):
            tags["optuna.host"] = str(trial.user_attrs["host"])
        if parent_run_id:
            tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(experiment_id, tags=tags)
        now = int(time.time() * 1000)
        metrics = [Metric("cv_roc_auc_fold_mean", float(v), now, int(step))
                   for step, v in sorted(trial.intermediate_values.items())]
        if trial.value is not None:
            metrics.append(Metric("cv_roc_auc", float(trial.value), now, 0))
        if trial.duration is not None:
            metrics.append(Metric("duration_s", trial.duration.total_seconds(), now, 0))
        client.log_batch(
            run.info.run_id,
            metrics=metrics,
            params=[Param(k, str(v)) for k, v in trial.params.items()],
            tags=[RunTag(k, v) for k, v in tags.items() if k == "optuna.state"],
        )
        client.set_terminated(run.info.run_id, status="FINISHED" if trial.state.name == "COMPLETE" else "KILLED")

    return callback


def parent_run(client, experiment_id: str, study_name: str, dag_run_id: str) -> str:
    """The id of the MLflow run the trials of ``study_name`` nest under: found by its tag (a retry), else created."""
    found = client.search_runs([experiment_id], filter_string=f"tags.`delivery.study` = '{study_name}'", max_results=1)
    run = found[0] if found else client.create_run(
        experiment_id, tags={"mlflow.runName": "hpo", "delivery.study": study_name, "delivery.dag_run_id": dag_run_id})
    return run.info.run_id


def lineage_tags(lineage: dict[str, Any]) -> dict[str, str]:
    """Lineage facts as MLflow tags (``delivery.<key>``), strings only, empty values dropped."""
    return {f"delivery.{k}": str(v) for k, v in lineage.items() if v not in (None, "")}
