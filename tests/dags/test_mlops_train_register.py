"""End-to-end runs of mlops_train_register with dag.test() on a private MLflow store and state folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dag_runner import run_dag
from fixtures.mlops import asset_events

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

BATCHES = Path(__file__).parent / "mlops_batches"
MODEL = "delivery-classifier"
FAST = {"n_trials": 4, "workers": 2, "n_folds": 3}


def _report(state: Path, run_id: str) -> Path:
    from include.common.paths import report_dir

    return report_dir("mlops_train_register", run_id)


def test_clean_batch_becomes_champion_with_lineage_and_reports(airflow_db, mlops_env, mlflow_client):
    from include.mlops.data import file_sha256
    from include.mlops.demo import default_training_path

    data = default_training_path()
    result = run_dag("mlops_train_register", {**FAST, "data_path": str(data)})
    assert result.state == "success", result
    assert result.task_states["promote"] == "success"
    assert result.task_states["approve"] == "skipped"  # require_approval defaults to False

    champion = mlflow_client.get_model_version_by_alias(MODEL, "champion")
    assert str(champion.version) == "1"
    assert "challenger" in champion.aliases
    assert champion.tags["delivery.gate.decision"] == "blessed"
    assert champion.tags["delivery.data_sha256"] == file_sha256(data)

    run = mlflow_client.get_run(champion.run_id)
    tags = run.data.tags
    assert tags["delivery.data_sha256"] == file_sha256(data)
    assert tags["delivery.dag_run_id"] == result.run_id
    assert len(tags["delivery.git_sha"]) in (40, 7) or tags["delivery.git_sha"] == "unknown"
    # the validation report is Great Expectations' own Data Docs page of this run's validation
    docs = Path(tags["delivery.validation_report"])
    assert docs.is_file() and "data_docs/local_site/validations" in str(docs) and docs.suffix == ".html"
    assert tags["delivery.validation_result"].endswith("validation.json")
    assert run.data.metrics["test_roc_auc"] >= 0.9
    artifacts = {a.path for a in mlflow_client.list_artifacts(champion.run_id, "plots")}
    assert {"plots/roc_curve.png", "plots/confusion_matrix.png", "plots/feature_importance.png",
            "plots/optimization_history.png"} <= artifacts
    if run.data.metrics["trials_complete"] >= 2:  # Optuna's importance evaluator needs two finished trials
        assert {"plots/param_importances.png", "plots/parallel_coordinate.png"} <= artifacts

    # Every trial was logged as a nested run under the search's parent run.
    trials = mlflow_client.search_runs([run.info.experiment_id], filter_string="tags.`optuna.state` != ''")
    assert len(trials) == FAST["n_trials"]
    assert len({t.data.tags["mlflow.parentRunId"] for t in trials}) == 1

    folder = _report(mlops_env["state"], result.run_id)
    for name in ("validation.json", "reference_stats.json", "held_out.csv", "gx/uncommitted/data_docs/local_site/index.html"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "validation.json").read_text())["success"] is True

    events = asset_events(result.run_id, "model_promoted")
    assert len(events) == 1
    extra = events[0]["extra"]
    assert extra["model_name"] == MODEL and extra["version"] == "1" and extra["mlflow_run_id"] == champion.run_id
    assert extra["data_sha256"] == file_sha256(data) and extra["dag_run_id"] == result.run_id


CORPUS = ["null_spike", "type_change", "out_of_range", "missing_column", "empty", "unreadable"]


@pytest.mark.parametrize("case", CORPUS)
def test_bad_batch_stops_at_validation(airflow_db, mlops_env, mlflow_client, case):
    source = BATCHES / f"{case}.csv"
    result = run_dag("mlops_train_register", {**FAST, "data_path": str(source)})
    assert result.state == "failed"
    assert result.task_states["validate"] == "failed"
    for task_id in ("tune", "train_evaluate", "register", "gate", "promote"):
        assert result.task_states[task_id] in ("upstream_failed", "skipped", None), (task_id, result.task_states)
    assert mlflow_client.search_registered_models() == []
    assert asset_events(result.run_id, "model_promoted") == []

    folder = _report(mlops_env["state"], result.run_id)
    report = json.loads((folder / "validation.json").read_text())
    assert report["success"] is False
    if case not in ("empty", "unreadable"):  # a batch that cannot be read is never validated by GX
        assert Path(report["data_docs"]).is_file()  # GX's Data Docs page of the failed validation
    quarantined = list((mlops_env["state"] / "quarantine").rglob(source.name))
    assert quarantined and quarantined[0].read_bytes() == source.read_bytes()


def _plant_memorising_champion(client, data_path: str) -> str:
    """Register a champion that has seen every row (held-out included): no honest model beats it."""
    import mlflow

    from include.mlops.data import read_batch
    from include.mlops.training import build_pipeline, xy

    X, y = xy(read_batch(data_path))
    model = build_pipeline({"n_estimators": 60, "max_depth": None, "min_samples_leaf": 1, "max_features": "sqrt"})
    model.fit(X, y)
    from delivery.hooks.mlflow import MlflowHook

    hook = MlflowHook()  # the test's store, with an explicit artifact folder (never ./mlruns)
    hook.activate()
    exp = hook.ensure_experiment("planted")
    with mlflow.start_run(experiment_id=exp):
        info = mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
    version = mlflow.register_model(info.model_uri, MODEL).version
    client.set_registered_model_alias(MODEL, "champion", version)
    return str(version)


def test_worse_challenger_is_not_promoted(airflow_db, mlops_env, mlflow_client):
    from include.mlops.data import generate_batch, write_batch

    noisy = write_batch(generate_batch(500, seed=31, changes={"label_noise": 0.2}), mlops_env["tmp"] / "noisy.csv")
    planted = _plant_memorising_champion(mlflow_client, str(noisy))
    result = run_dag("mlops_train_register", {**FAST, "data_path": str(noisy), "min_metric": 0.5})
    assert result.state == "success", result
    assert result.task_states["gate"] == "success"
    assert result.task_states["promote"] == "skipped"
    assert str(mlflow_client.get_model_version_by_alias(MODEL, "champion").version) == planted
    challenger = mlflow_client.get_model_version_by_alias(MODEL, "challenger")
    assert str(challenger.version) != planted
    assert challenger.tags["delivery.gate.decision"] == "rejected"
    assert "worse than the champion" in challenger.tags["delivery.gate.reasons"]
    assert asset_events(result.run_id, "model_promoted") == []


@pytest.mark.parametrize("blessed,require_approval,expected", [
    (True, False, ["promote"]), (True, True, ["approve"]), (False, True, []), (False, False, []),
])
def test_route_sends_blessed_models_through_approval_only_when_required(blessed, require_approval, expected):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(Path(__file__).parents[2] / "dags" / "mlops_train_register.py"))
    route = bag.dags["mlops_train_register"].get_task("route")
    decision = {"blessed": blessed, "reasons": ["r"]}
    assert route.python_callable(decision, params={"require_approval": require_approval}) == expected
    approve = bag.dags["mlops_train_register"].get_task("approve")
    assert approve.options == ["Approve", "Reject"] and "promote" in approve.downstream_task_ids
