"""
### mlops_drift_monitor: is the champion still looking at the data it was trained on?

Runs hourly and whenever a new production batch arrives (Asset `production_batch`).

1. **resolve_batch**: the batch to check: the `batch_path` param, else the triggering Asset
   event's `path`, else the newest file in `<state>/mlops/batches/` (skips when there is none).
2. **validate**: the same Great Expectations suite as training (label optional). A bad batch
   fails here and is quarantined: the monitor never asks to retrain on a batch that fails
   validation.
3. **detect_drift**: loads the `champion`'s reference statistics (saved with the model at
   training time) and compares per feature: KS (small batches) or normed Wasserstein (large) for
   numeric features, plus PSI; chi-squared (small) or Jensen-Shannon (large) for categorical ones.
   Also the share of drifted features, prediction drift, and performance decay when the batch
   has labels. Writes `drift.html` (a plot per drifted feature) and `drift.json` to the run's
   report folder and logs the metrics to MLflow against the champion.
4. **request_retrain**: emits Asset `retrain_requested` (which schedules `mlops_train_register`)
   only when the drift share reaches `drift_share` or the performance decayed; skipped otherwise.

Reports: `<state>/reports/mlops_drift_monitor/<run_id>/`. Docs: `docs/mlops.md`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from delivery.assets import production_batch, retrain_requested
from delivery.operators.gx import GXValidateOperator


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 * * * *", timezone="UTC"), assets=production_batch),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["mlops", "monitoring", "drift", "mlflow"],
    default_args={"owner": "mlops", "retries": 2, "retry_delay": timedelta(seconds=10)},
    params={
        "batch_path": Param(None, type=["null", "string"], description="Production batch to check (CSV or Parquet). Empty: "
                            "the triggering Asset event's path, else the newest file in <state>/mlops/batches/."),
        "model_name": Param("delivery-classifier", type="string", minLength=1,
                            description="Registered model whose champion is monitored."),
        "numeric_method": Param("auto", type="string", enum=["auto", "ks", "wasserstein", "psi"],
                                description="Numeric drift test; auto: KS up to small_sample rows, else normed "
                                "Wasserstein."),
        "categorical_method": Param("auto", type="string", enum=["auto", "chi2", "jensenshannon"],
                                    description="Categorical drift test; auto: chi-squared up to small_sample rows, "
                                    "else Jensen-Shannon."),
        "small_sample": Param(1000, type="integer", minimum=1,
                              description="Batches up to this many rows use the statistical tests (KS, chi-squared)."),
        "p_value": Param(0.05, type="number", minimum=0, maximum=1,
                         description="A test flags drift when its p-value is below this."),
        "distance_threshold": Param(0.1, type="number", minimum=0, description="Normed Wasserstein and "
                                    "Jensen-Shannon distances above this flag drift."),
        "psi_warn": Param(0.1, type="number", minimum=0, description="PSI above this is reported as a warning."),
        "psi_alert": Param(0.2, type="number", minimum=0, description="PSI above this is an alert (and drift "
                           "with numeric_method=psi)."),
        "drift_share": Param(0.5, type="number", minimum=0.01, maximum=1, description="The data set drifts (and "
                             "retraining is requested) when this share of features drifted."),
        "max_performance_decay": Param(0.05, type="number", minimum=0, description="With labels: retraining is "
                                       "also requested when the champion's metric fell by more than this."),
    },
)
def mlops_drift_monitor():
    @task(multiple_outputs=True)
    def resolve_batch(params=None, triggering_asset_events=None) -> dict:
        """Pick the batch to check and record its hash and size."""
        from airflow.sdk.exceptions import AirflowSkipException

        from include.mlops.data import snapshot
        from include.mlops.demo import newest_batch

        path = params.get("batch_path") or ""
        if not path and triggering_asset_events:
            for events in triggering_asset_events.values():
                for event in events:
                    path = (event.extra or {}).get("path") or path
        if not path:
            newest = newest_batch()
            if newest is None:
                raise AirflowSkipException("No production batch to check: set batch_path, emit production_batch "
                                           "with extra.path, or drop a file into <state>/mlops/batches/")
            path = str(newest)
        info = snapshot(path)
        print(f"Checking batch {info['path']} (sha256 {info['sha256']}, {info['rows']} rows)")
        return info

    batch = resolve_batch()
    validate = GXValidateOperator(task_id="validate", data_path=batch["path"], require_label=False)

    @task
    def detect_drift(batch: dict, params=None, run_id=None, dag=None) -> dict:
        """Compare the batch with the champion's reference statistics; write and log the report."""
        from delivery.hooks.mlflow import MlflowHook
        from include.common.paths import report_dir
        from include.mlops import monitor

        from airflow.sdk.exceptions import AirflowSkipException

        hook = MlflowHook()
        hook.activate()
        champion = hook.get_alias_version(params["model_name"], monitor.CHAMPION)
        if champion is None:
            raise AirflowSkipException(f"Model {params['model_name']!r} has no champion yet: nothing to monitor. "
                                       "Run mlops_train_register first.")
        result = monitor.run_drift_check(
            client=hook.get_client(), champion=champion, batch_path=batch["path"],
            report_folder=report_dir(dag.dag_id, run_id), config=monitor.config_from_params(params),
            context={"dag_run_id": run_id, "batch_sha256": batch["sha256"]},
        )
        print(f"Drift share {result['drift_share']:.2f} (threshold {result['threshold_share']}); drifted: "
              f"{result['drifted_features']}; retrain: {result['retrain']}. Report: {result['report_html']}")
        return result

    drift = detect_drift(batch)

    @task(outlets=[retrain_requested])
    def request_retrain(drift: dict, outlet_events=None) -> dict:
        """Emit retrain_requested when drift passed the threshold; skip (no event) otherwise."""
        from airflow.sdk.exceptions import AirflowSkipException

        if not drift["retrain"]:
            raise AirflowSkipException(f"No retraining needed: drift share {drift['drift_share']:.2f} < "
                                       f"{drift['threshold_share']} and no performance decay")
        extra = {k: drift[k] for k in ("batch_path", "batch_sha256", "drift_share", "drifted_features",
                                       "champion_version", "report_html", "dag_run_id")}
        if drift.get("has_label"):
            extra["data_path"] = drift["batch_path"]  # a labelled batch can be trained on
        outlet_events[retrain_requested].extra = extra
        print(f"Retraining requested: {extra}")
        return extra

    validate >> drift
    request_retrain(drift)


mlops_drift_monitor()
