"""The tasks of mlops_train_register that need hooks or the run's context: build them, call include/.

Each function takes the task's context (``**context`` of a TaskFlow task) and the upstream values,
opens the MLflow / Optuna stores through their hooks, and calls one function of
:mod:`include.mlops.training_run`, :mod:`include.mlops.promotion_gate` or
:mod:`include.mlops.batches`. ``@step`` turns an ``InputError`` into a failure without retries.
"""

from __future__ import annotations

import logging
from typing import Any

from delivery.failures import step
from include.mlops.constants import METRICS

__all__ = ["METRICS", "gate", "plan", "route", "snapshot", "train_evaluate"]

log = logging.getLogger(__name__)


@step("snapshot")
def snapshot(context: Any) -> dict[str, Any]:
    """The batch to train on (param ``data_path``, else the triggering event's, else the demo set), hashed."""
    from delivery.runs import asset_events
    from include.mlops.batches import training_batch

    info = training_batch(context["params"].get("data_path"), asset_events(context))
    log.info("Batch %s: sha256 %s, %s rows", info["path"], info["sha256"], info["rows"])
    return info


@step("plan")
def plan(context: Any) -> dict[str, str]:
    """Create the run's Optuna study and the MLflow parent run of the search."""
    from delivery.hooks.mlflow import MlflowHook
    from delivery.hooks.optuna import OptunaHook
    from delivery.runs import run_ids
    from include.mlops.training_run import plan_search

    params, hook = context["params"], MlflowHook()
    return plan_search(OptunaHook().get_storage(), hook.get_client(), experiment_id=hook.ensure_experiment(
        params["experiment"]), trial_budget=params["n_trials"], timeout_s=params["tuning_timeout"], **run_ids(context))


@step("train_evaluate")
def train_evaluate(study_name: str, parent_run_id: str, batch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Train the study's best parameters, evaluate on the held-out split, log everything to MLflow."""
    from delivery.hooks.mlflow import MlflowHook
    from delivery.hooks.optuna import OptunaHook
    from delivery.runs import report_folder, run_ids
    from include.mlops.training_run import train_best

    params, hook = context["params"], MlflowHook()
    client = hook.activate()
    result = train_best(OptunaHook().get_storage(), client, study_name=study_name, parent_run_id=parent_run_id,
                        batch=batch, experiment_id=hook.ensure_experiment(params["experiment"]),
                        report_folder=report_folder(context), seed=params["seed"], **run_ids(context))
    log.info("Held-out metrics: %s (run %s)", result["metrics"], result["run_id"])
    return result


@step("gate")
def gate(registered: dict[str, Any], trained_metrics: dict[str, float], held_out_path: str,
         context: Any) -> dict[str, Any]:
    """Bless or reject the registered challenger against the champion (absolute + relative thresholds)."""
    from delivery.hooks.mlflow import MlflowHook
    from include.mlops import promotion_gate
    from include.mlops.policy import policy_from_params

    client = MlflowHook().activate()
    decision = promotion_gate.gate(client, name=registered["name"], version=registered["version"],
                                   challenger_metrics=trained_metrics, held_out_path=held_out_path,
                                   policy=policy_from_params(context["params"]))
    log.info("%s%s", "BLESSED: " if decision["blessed"] else "REJECTED: ", " | ".join(decision["reasons"]))
    return decision


def route(decision: dict[str, Any], require_approval: bool) -> list[str]:
    """The branch after the gate: ``approve`` or ``promote`` when blessed; nothing (the run stops) when not."""
    if not decision["blessed"]:
        log.info("The challenger was not blessed; the champion stays. Reasons: %s", " | ".join(decision["reasons"]))
        return []
    return ["approve"] if require_approval else ["promote"]
