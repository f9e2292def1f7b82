"""The training pipeline's work, one function per step; the operators and tasks call these.

Each takes plain values (paths, dicts, ids) and returns a JSON-able dict for XCom. MLflow is used
through the ``mlflow`` module after the caller (the MLflow hook) pointed it at the store.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from include.common.errors import InputError
from include.mlops import data as data_mod
from include.mlops.constants import CATEGORICAL_FEATURES, LABEL, NUMERIC_FEATURES, REFERENCE_ARTIFACT


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
) -> dict[str, Any]:
    """Fit the best parameters on the training split, evaluate on the held-out split, log to MLflow.

    Logged: params, held-out metrics (``test_<metric>``), plots (ROC, confusion matrix, feature
    importance, optimisation history), the reference statistics for the drift monitor, the model
    with signature and input example, and lineage tags (data hash, validation report, git SHA,
    DAG run id). The held-out split is saved in the report folder for the gate.
    """
    import mlflow
    from mlflow.models import infer_signature

    from include.mlops import drift, training
    from include.mlops.tracking import lineage_tags

    report = Path(report_folder)
    frame = data_mod.read_batch(data_path)
    train, held = data_mod.split(frame, seed=seed, test_size=test_size)
    X_train, y_train = training.xy(train)
    X_held, y_held = training.xy(held)
    model = training.build_pipeline(best_params, seed=seed).fit(X_train, y_train)
    metrics = training.evaluate(model, X_held, y_held)
    held_path = report / "held_out.csv"
    held.to_csv(held_path, index=False)
    plots = training.write_plots(model, X_held, y_held, trials, report / "plots")
    held_pred = model.predict_proba(X_held)[:, 1]
    reference = drift.reference_stats(
        train, list(NUMERIC_FEATURES), list(CATEGORICAL_FEATURES), seed=seed,
        predictions=held_pred, performance=metrics,
    )
    ref_path = report / "reference_stats.json"
    ref_path.write_text(json.dumps(reference))
    importance = training.feature_importance(model)
    (report / "feature_importance.json").write_text(json.dumps(importance, indent=2))

    tags = lineage_tags({**lineage, "git_sha": lineage.get("git_sha") or project_git_sha()})
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
        mlflow.log_artifact(str(report / "feature_importance.json"))
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


def score_model(model_uri: str, held_out_path: str) -> dict[str, float]:
    """Metrics of the model at ``model_uri`` on the held-out CSV (the gate's common ground)."""
    import mlflow

    from include.mlops import training

    frame = data_mod.read_batch(held_out_path)
    model = mlflow.sklearn.load_model(model_uri)
    X, y = training.xy(frame)
    return training.evaluate(model, X, y)


def predict_batch(model_uri: str, frame):
    """Positive-class probabilities of the model at ``model_uri`` for a batch (features only)."""
    import mlflow

    model = mlflow.sklearn.load_model(model_uri)
    X = frame.reindex(columns=list(NUMERIC_FEATURES + CATEGORICAL_FEATURES)).copy()
    for col in CATEGORICAL_FEATURES:
        X[col] = X[col].astype(str)
    return model.predict_proba(X)[:, 1]


def require_label(frame, what: str) -> None:
    if LABEL not in frame.columns:
        raise InputError(what, f"the batch has no label column {LABEL!r}", "train on a labelled batch")


def gate(client, *, name: str, version: str, challenger_metrics: dict[str, float], held_out_path: str,
         policy) -> dict[str, Any]:
    """Compare challenger ``version`` with the current champion on the same held-out data; tag the decision.

    ``client`` is an ``MlflowClient``; ``policy`` an :class:`include.mlops.policy.PromotionPolicy`.
    The decision and its reasons become model-version tags (``delivery.gate.*``).
    """
    from mlflow.exceptions import MlflowException

    from include.mlops.constants import CHAMPION
    from include.mlops.policy import decide

    champion_version = None
    champion_value = None
    champion_metrics: dict[str, float] | None = None
    try:
        champ = client.get_model_version_by_alias(name, CHAMPION)
        champion_version = str(champ.version)
    except MlflowException:
        champ = None
    if champ is not None and champion_version != str(version):
        champion_metrics = score_model(f"models:/{name}@{CHAMPION}", held_out_path)
        champion_value = champion_metrics.get(policy.metric)
    decision = decide(policy, challenger_metrics.get(policy.metric), champion_value)
    tags = {
        "delivery.gate.decision": "blessed" if decision.blessed else "rejected",
        "delivery.gate.reasons": " | ".join(decision.reasons),
        "delivery.gate.metric": policy.metric,
        "delivery.gate.challenger_value": f"{decision.challenger_value}",
        "delivery.gate.champion_version": champion_version or "none",
        "delivery.gate.champion_value": f"{champion_value}" if champion_value is not None else "none",
        "delivery.gate.policy": json.dumps(policy.__dict__, sort_keys=True),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value[:5000])
    return {
        "blessed": decision.blessed,
        "reasons": decision.reasons,
        "metric": policy.metric,
        "challenger_value": decision.challenger_value,
        "champion_value": champion_value,
        "champion_version": champion_version,
        "champion_metrics": champion_metrics,
        "version": str(version),
        "name": name,
    }
