"""Optuna tuning operator: one worker on a shared study; map it N times for N parallel workers.

Usage in a DAG (N workers, one study, one shared trial budget)::

    OptunaTuneOperator.partial(task_id="tune", study_name=..., data_path=..., n_trials=12).expand(
        worker=[0, 1]
    )
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from delivery.failures import step


def _load(dotted: str):
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


class OptunaTuneOperator(BaseOperator):
    """Run trials of study ``study_name`` until the shared trial budget or deadline is reached.

    The study is created on first use (``load_if_exists``), so a retried or a parallel worker
    resumes it; see :mod:`include.mlops.tuning` for how the budget is kept exact.

    :param study_name: the study shared by all workers. (templated)
    :param data_path: the training batch handed to the objective factory. (templated)
    :param n_trials: total trial budget of the study (shared by all workers). (templated)
    :param tuning_timeout: total time budget of the study in seconds (fixed at creation). (templated)
    :param worker: this worker's index (seeds its sampler as ``seed + worker``).
    :param seed: base seed of the sampler and the CV folds. (templated)
    :param objective_factory: ``"module:function"`` called as ``f(data_path=..., seed=..., **objective_kwargs)``
        that returns an Optuna objective.
    :param objective_kwargs: extra keyword arguments for the factory. (templated)
    :param direction: ``maximize`` or ``minimize``.
    :param optuna_conn_id: connection of the study storage (default SQLite under the state folder).
    :param mlflow_conn_id: connection of the MLflow store trials are logged to.
    :param experiment_name: MLflow experiment of the trial runs; None disables trial logging. (templated)
    :param parent_run_id: MLflow run the trial runs are nested under. (templated)
    """

    template_fields: Sequence[str] = (
        "study_name", "data_path", "n_trials", "tuning_timeout", "seed", "objective_kwargs", "experiment_name",
        "parent_run_id",
    )
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        study_name: str,
        data_path: str,
        n_trials: int = 12,
        tuning_timeout: float = 600,
        worker: int = 0,
        seed: int = 0,
        objective_factory: str = "include.mlops.tuning:objective_from_file",
        objective_kwargs: dict[str, Any] | None = None,
        direction: str = "maximize",
        optuna_conn_id: str = "optuna_default",
        mlflow_conn_id: str = "mlflow_default",
        experiment_name: str | None = None,
        parent_run_id: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.study_name = study_name
        self.data_path = data_path
        self.n_trials = n_trials
        self.tuning_timeout = tuning_timeout
        self.worker = worker
        self.seed = seed
        self.objective_factory = objective_factory
        self.objective_kwargs = objective_kwargs or {}
        self.direction = direction
        self.optuna_conn_id = optuna_conn_id
        self.mlflow_conn_id = mlflow_conn_id
        self.experiment_name = experiment_name
        self.parent_run_id = parent_run_id

    @step("tune")
    def execute(self, context) -> dict[str, Any]:
        from delivery.hooks.optuna import OptunaHook
        from include.mlops import tuning

        storage = OptunaHook(self.optuna_conn_id).get_storage()
        study = tuning.create_study(storage, self.study_name, trial_budget=self.n_trials,
                                    timeout_s=self.tuning_timeout, direction=self.direction)
        objective = _load(self.objective_factory)(data_path=self.data_path, seed=self.seed, **self.objective_kwargs)
        callbacks = []
        if self.experiment_name:
            from delivery.hooks.mlflow import MlflowHook
            from include.mlops.tracking import trial_logger

            hook = MlflowHook(self.mlflow_conn_id)
            exp_id = hook.ensure_experiment(str(self.experiment_name))  # a name that looks like a number renders as one
            callbacks.append(trial_logger(hook.get_client(), exp_id, self.parent_run_id or None, worker=self.worker))
        already = tuning.counted_trials(study)
        self.log.info("Worker %s joins study %r: %s of %s trials already counted", self.worker, study.study_name,
                      already, study.user_attrs["trial_budget"])
        # The host name Airflow recorded for this task instance (delivery.hostname on the stack).
        host = getattr(context.get("ti"), "hostname", None) or ""
        result = tuning.run_worker(study, objective, worker=self.worker, seed=self.seed, host=host,
                                   callbacks=callbacks)
        self.log.info(
            "Worker %s on %s ran %s trial(s) (%s complete, %s pruned, %s failed); study now %s complete + %s pruned; "
            "stopped by %s", result.worker, result.host or "?", result.trials_run, result.complete, result.pruned,
            result.failed, result.study_complete, result.study_pruned, result.stopped_by,
        )
        return result.as_dict()
