"""The tasks of mlops_drift_monitor that need hooks, the run's context or Airflow's skip: call include/.

Each function takes the task's context (``**context`` of a TaskFlow task) and the upstream values
and calls one function of :mod:`include.mlops.batches` or :mod:`include.mlops.monitor`. Nothing to
check (no batch, no champion, no drift) is a skip, never a failure; ``@step`` turns an
``InputError`` into a failure without retries.
"""

from __future__ import annotations

import logging
from typing import Any

from delivery.failures import step

log = logging.getLogger(__name__)


@step("resolve_batch")
def resolve_batch(context: Any) -> dict[str, Any]:
    """The batch to check (param ``batch_path``, else the triggering event's, else the newest in the inbox), hashed."""
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.runs import asset_events
    from include.mlops.batches import production_batch

    info = production_batch(context["params"].get("batch_path"), asset_events(context))
    if info is None:
        raise AirflowSkipException("No production batch to check: set batch_path, emit production_batch "
                                   "with extra.data_path, or drop a file into <state>/mlops/batches/")
    log.info("Checking batch %s (sha256 %s, %s rows)", info["path"], info["sha256"], info["rows"])
    return info


@step("detect_drift")
def detect_drift(batch: dict[str, Any], context: Any) -> dict[str, Any]:
    """Compare the batch with the champion's reference statistics; write the report, log it to MLflow."""
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.hooks.mlflow import MlflowHook
    from delivery.runs import report_folder
    from include.mlops import monitor
    from include.mlops.constants import CHAMPION

    params, hook = context["params"], MlflowHook()
    client = hook.activate()
    champion = hook.get_alias_version(params["model_name"], CHAMPION)
    if champion is None:
        raise AirflowSkipException(f"Model {params['model_name']!r} has no champion yet: nothing to monitor. "
                                   "Run mlops_train_register first.")
    result = monitor.run_drift_check(
        client=client, champion=champion, batch_path=batch["path"], report_folder=report_folder(context),
        config=monitor.config_from_params(params),
        context={"dag_run_id": context["run_id"], "batch_sha256": batch["sha256"]},
    )
    log.info("Drift share %.2f (threshold %s); drifted: %s; retrain: %s. Report: %s", result["drift_share"],
             result["threshold_share"], result["drifted_features"], result["retrain"], result["report_html"])
    return result


@step("request_retrain")
def request_retrain(drift: dict[str, Any], context: Any) -> dict[str, Any]:
    """Emit ``retrain_requested`` (a :class:`RetrainRequested`) when retraining is due; skip (no event) otherwise."""
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.assets import retrain_requested
    from include.mlops.monitor import retrain_request

    request = retrain_request(drift)
    if request is None:
        raise AirflowSkipException(f"No retraining needed: drift share {drift['drift_share']:.2f} < "
                                   f"{drift['threshold_share']} and no performance decay")
    extra = request.to_extra()
    context["outlet_events"][retrain_requested].extra = extra
    log.info("Retraining requested: %s", extra)
    return extra
