"""
### mlops_drift_monitor: is the champion still looking at the data it was trained on?

Runs hourly and whenever a new production batch arrives (Asset `production_batch`).

1. **resolve_batch**: the batch to check: the `batch_path` param, else the triggering Asset
   event's `data_path`, else the newest file in `<state>/mlops/batches/` (skips when there is none).
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

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from delivery.assets import production_batch, retrain_requested
from delivery.dag_args import shared_dag_args
from delivery.operators.gx import GXValidateOperator


@dag(
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 * * * *", timezone="UTC"), assets=production_batch),
    doc_md=__doc__,
    tags=["mlops", "monitoring", "drift", "mlflow"],
    **shared_dag_args("mlops"),
    params={
        "batch_path": Param(None, type=["null", "string"], description="Production batch to check (CSV or "
                            "Parquet). Empty: the triggering Asset event's data_path, else the newest file in "
                            "<state>/mlops/batches/."),
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
    def resolve_batch(**context) -> dict:
        """Pick the batch to check and record its hash and size."""
        from delivery.operators import monitoring

        return monitoring.resolve_batch(context)

    @task
    def detect_drift(batch: dict, **context) -> dict:
        """Compare the batch with the champion's reference statistics; write and log the report."""
        from delivery.operators import monitoring

        return monitoring.detect_drift(batch, context)

    @task(outlets=[retrain_requested])
    def request_retrain(drift: dict, **context) -> dict:
        """Emit retrain_requested when drift passed the threshold; skip (no event) otherwise."""
        from delivery.operators import monitoring

        return monitoring.request_retrain(drift, context)

    batch = resolve_batch()
    validate = GXValidateOperator(task_id="validate", data_path=batch["path"], require_label=False)
    drift = detect_drift(batch)
    validate >> drift
    request_retrain(drift)


mlops_drift_monitor()
