"""End-to-end runs of mlops_drift_monitor: a drifted batch asks for retraining, a clean one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_runner import run_dag
from fixtures.mlops import asset_events

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

MODEL = "delivery-classifier"
BATCHES = Path(__file__).parent / "mlops_batches"


@pytest.fixture
def champion(mlops_env, mlflow_client):
    """A champion trained and logged by the training step itself (with its reference statistics)."""
    from delivery.hooks.mlflow import MlflowHook
    from include.mlops.training_run import train_and_log
    from include.mlops.demo import default_training_path

    hook = MlflowHook()
    hook.activate()
    folder = mlops_env["tmp"] / "train-report"
    folder.mkdir()
    trained = train_and_log(
        data_path=str(default_training_path()),
        best_params={"n_estimators": 40, "max_depth": 6, "min_samples_leaf": 2, "max_features": "sqrt"},
        trials=[(0, 0.98, "COMPLETE")], experiment_id=hook.ensure_experiment("drift-test"),
        report_folder=folder, lineage={"dag_run_id": "fixture"},
    )
    import mlflow

    version = mlflow.register_model(trained["model_uri"], MODEL).version
    mlflow_client.set_registered_model_alias(MODEL, "champion", version)
    return str(version)


def test_drifted_batch_requests_retraining_and_clean_does_not(airflow_db, mlops_env, champion, mlflow_client):
    from include.mlops.demo import seed

    demo = seed()
    clean = run_dag("mlops_drift_monitor", {"batch_path": demo["clean_batch"]})
    assert clean.state == "success", clean
    assert clean.task_states["detect_drift"] == "success"
    assert clean.task_states["request_retrain"] == "skipped"
    assert asset_events(clean.run_id, "retrain_requested") == []

    drifted = run_dag("mlops_drift_monitor", {"batch_path": demo["drifted_batch"]})
    assert drifted.state == "success", drifted
    assert drifted.task_states["request_retrain"] == "success"
    events = asset_events(drifted.run_id, "retrain_requested")
    assert len(events) == 1
    extra = events[0]["extra"]
    assert extra["batch_path"] == demo["drifted_batch"] and extra["drift_share"] >= 0.5
    assert "mean_radius" in extra["drifted_features"] and extra["champion_version"] == champion

    from include.common.paths import report_dir

    folder = report_dir("mlops_drift_monitor", drifted.run_id)
    html = (folder / "drift.html").read_text()
    assert "DATASET DRIFT" in html and html.count("<img") >= 8
    assert (folder / "drift.json").is_file()
    monitoring = mlflow_client.search_runs(
        [mlflow_client.get_experiment_by_name("drift-test").experiment_id],
        filter_string="tags.`delivery.kind` = 'drift_monitor'",
    )
    assert len(monitoring) == 2 and all("drift_share" in r.data.metrics for r in monitoring)


def test_batch_failing_validation_never_requests_retraining(airflow_db, mlops_env, champion):
    result = run_dag("mlops_drift_monitor", {"batch_path": str(BATCHES / "out_of_range.csv")})
    assert result.state == "failed"
    assert result.task_states["validate"] == "failed"
    assert result.task_states["request_retrain"] in ("upstream_failed", "skipped")
    assert asset_events(result.run_id, "retrain_requested") == []


def test_no_champion_skips_cleanly(airflow_db, mlops_env):
    from include.mlops.demo import seed

    result = run_dag("mlops_drift_monitor", {"batch_path": seed()["clean_batch"]})
    assert result.state == "success"
    assert result.task_states["detect_drift"] == "skipped"
    assert asset_events(result.run_id, "retrain_requested") == []
