"""One run of mlops_train_register, step by step: plan the search, train the best trial, log it.

Each function takes plain values (paths, dicts, ids) and the clients it needs (an Optuna storage,
an ``MlflowClient``), and returns a JSON-able dict for XCom. Training logs through the ``mlflow``
module, so the caller (the MLflow hook's ``activate()``) points it at the store first.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from include.common.errors import InputError
from include.common.reports import read_report, write_report
from include.mlops import data as data_mod
from include.mlops import tracking, tuning
from include.mlops.constants import CATEGORICAL_FEATURES, NUMERIC_FEATURES, REFERENCE_ARTIFACT


def plan_search(storage, client, *, experiment_id: str, dag_id: str, dag_run_id: str, trial_budget: int,
                timeout_s: float) -> dict[str, str]:
    """Create the run's Optuna study (budgets fixed once) and the MLflow parent run of its trials.

    A retry finds both again: the study by its name, the parent run by its ``delivery.study`` tag.
    """
    name = tuning.study_name(dag_id, dag_run_id)
    tuning.create_study(storage, name, trial_budget=trial_budget, timeout_s=timeout_s)
    return {"study_name": name, "parent_run_id": tracking.parent_run(client, experiment_id, name, dag_run_id)}


def train_best(storage, client, *, study_name: str, parent_run_id: str, batch: dict[str, Any], experiment_id: str,
               report_folder: str | Path, dag_id: str, dag_run_id: str, seed: int = 0) -> dict[str, Any]:
    """Train the study's best parameters on ``batch`` (a :func:`include.mlops.data.snapshot`) and close the search.

    Raises :class:`InputError` when no trial completed within the budget (nothing to train).
    """
    import optuna

    study = optuna.load_study(study_name=study_name, storage=storage)
    if not any(t.state.name == "COMPLETE" for t in study.trials):
        raise InputError("tuning_timeout / n_trials", "no trial completed within the budget",
                         "raise the tuning_timeout or n_trials params")
    folder = Path(report_folder)
    result = train_and_log(
        data_path=batch["path"], best_params=study.best_params, trials=tuning.trial_rows(study),
        experiment_id=experiment_id, report_folder=folder,
        study_plots=tuning.study_plots(study, folder / "plots"),
        lineage={"data_sha256": batch["sha256"], "data_path": batch["path"], "data_rows": batch["rows"],
                 "validation_result": str(folder / "validation.json"),
                 "validation_report": (read_report(folder, "validation.json") or {}).get("data_docs") or "",
                 "dag_id": dag_id,
                 "dag_run_id": dag_run_id, "optuna_study": study_name},
        seed=seed, parent_run_id=parent_run_id,
    )
    client.set_terminated(parent_run_id)
    return result


def project_git_sha() -> str:
    """The project's git commit (``unknown`` outside a checkout)."""
    from include.common.paths import PROJECT_ROOT

    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except Exception:  # noqa: BLE001 - lineage is best effort here
        return "unknown"


def train_and_log(
    *,
    data_path: str,
    best_params: dict[str, Any],
    trials: list[tuple[int, float | None, str]],
    experiment_id: str,
    report_folder: str | Path,
    lineage: dict[str, Any],
    seed: int = 0,
    test_size: float = 0.25,
    parent_run_id: str | None = None,
    study_plots: list[Path] = (),
) -> dict[str, Any]:
    """Fit the best parameters on the training split, evaluate on the held-out split, log to MLflow.

    Logged: params, held-out metrics (``test_<metric>``), plots (ROC, confusion matrix, feature
    importance, and ``study_plots``: Optuna's own plots of the search), the reference statistics for the drift monitor, the model
    with signature and input example, and lineage tags (data hash, validation report, git SHA,
    DAG run id). The held-out split is saved in the report folder for the gate.
    """
    import mlflow
    from mlflow.models import infer_signature

    from include.mlops import drift, training

    report = Path(report_folder)
    frame = data_mod.read_batch(data_path)
    train, held = data_mod.split(frame, seed=seed, test_size=test_size)
    X_train, y_train = training.xy(train)
    X_held, y_held = training.xy(held)
    model = training.build_pipeline(best_params, seed=seed).fit(X_train, y_train)
    metrics = training.evaluate(model, X_held, y_held)
    held_path = report / "held_out.csv"
    held.to_csv(held_path, index=False)
    plots = [*training.write_plots(model, X_held, y_held, report / "plots"), *study_plots]
    held_pred = model.predict_proba(X_held)[:, 1]
    reference = drift.reference_stats(
        train, list(NUMERIC_FEATURES), list(CATEGORICAL_FEATURES), seed=seed,
        predictions=held_pred, performance=metrics,
    )
    ref_path = write_report(report, "reference_stats.json", reference)
    importance_path = write_report(report, "feature_importance.json", training.feature_importance(model))

    tags = tracking.lineage_tags({**lineage, "git_sha": lineage.get("git_sha") or project_git_sha()})
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    with mlflow.start_run(experiment_id=experiment_id, run_name="train-best", tags=tags) as run:
        mlflow.log_params({k: str(v) for k, v in best_params.items()})
        mlflow.log_params({"seed": seed, "test_size": test_size, "train_rows": len(train), "held_out_rows": len(held)})
        mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items() if v == v})
        if any(s == "COMPLETE" for _, _, s in trials):
            mlflow.log_metric("cv_best_roc_auc", max(v for _, v, s in trials if s == "COMPLETE" and v is not None))
        mlflow.log_metrics({"trials_complete": sum(s == "COMPLETE" for _, _, s in trials),
                            "trials_pruned": sum(s == "PRUNED" for _, _, s in trials)})
        for p in plots:
            mlflow.log_artifact(str(p), artifact_path="plots")
        mlflow.log_artifact(str(ref_path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))
        mlflow.log_artifact(str(importance_path))
        example = X_train.head(5)
        signature = infer_signature(example, model.predict_proba(example)[:, 1])
        # cloudpickle: the models are our own (skops would refuse sklearn's tree type as untrusted).
        # Explicit requirements: MLflow would otherwise infer them in a subprocess (seconds per model).
        info = mlflow.sklearn.log_model(model, name="model", signature=signature, input_example=example,
                                        serialization_format="cloudpickle", pip_requirements=model_requirements())
        run_id = run.info.run_id
    return {
        "run_id": run_id,
        "model_uri": info.model_uri,
        "metrics": metrics,
        "held_out_path": str(held_path),
        "reference_path": str(ref_path),
        "params": best_params,
    }


def model_requirements() -> list[str]:
    """The pip requirements of the logged model (what loading it needs), pinned to this environment."""
    from importlib.metadata import version

    return [f"{dist}=={version(dist)}" for dist in ("scikit-learn", "cloudpickle", "numpy", "pandas", "scipy")]
