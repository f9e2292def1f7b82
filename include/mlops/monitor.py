"""The drift check of one production batch against the champion (the drift monitor's work).

The ``MlflowClient`` is passed in; the champion loads through the ``mlflow`` module, so the
caller points it at the store first. The champion's reference statistics come from its training
run's artifact ``reference/reference_stats.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from include.common.errors import InputError
from include.common.events import RetrainRequested
from include.common.reports import write_report
from include.mlops.constants import CATEGORICAL_FEATURES, CHAMPION, DEFAULT_METRIC, FEATURES, LABEL, REFERENCE_ARTIFACT
from include.mlops.drift import DriftConfig, compute_drift

# Drift monitor params that are DriftConfig fields of the same name.
CONFIG_PARAMS = ("numeric_method", "categorical_method", "small_sample", "p_value", "psi_warn", "psi_alert",
                 "drift_share", "max_performance_decay")


def config_from_params(params: dict[str, Any]) -> DriftConfig:
    """A :class:`DriftConfig` from the drift monitor's DAG params (missing keys keep defaults).

    ``distance_threshold`` sets both distance thresholds (normed Wasserstein and Jensen-Shannon).
    """
    kwargs = {name: params[name] for name in CONFIG_PARAMS if name in params}
    if "distance_threshold" in params:
        kwargs["wasserstein"] = kwargs["jensenshannon"] = params["distance_threshold"]
    return DriftConfig(**kwargs)


def retrain_request(result: dict[str, Any]) -> RetrainRequested | None:
    """The ``retrain_requested`` event of a drift check's result, or None when no retraining is due.

    ``data_path`` is set only for a labelled batch: that one can be trained on.
    """
    if not result["retrain"]:
        return None
    return RetrainRequested(
        batch_path=result["batch_path"], batch_sha256=result["batch_sha256"], drift_share=result["drift_share"],
        champion_version=result["champion_version"], dag_run_id=result["dag_run_id"],
        drifted_features=result["drifted_features"], report_html=result["report_html"],
        data_path=result["batch_path"] if result.get("has_label") else "",
    )


def predict_batch(model_uri: str, frame):
    """Positive-class probabilities of the model at ``model_uri`` for a batch (features only)."""
    import mlflow

    model = mlflow.sklearn.load_model(model_uri)
    X = frame.reindex(columns=list(FEATURES)).copy()
    for col in CATEGORICAL_FEATURES:
        X[col] = X[col].astype(str)
    return model.predict_proba(X)[:, 1]


def load_reference(client, run_id: str, dst: Path) -> dict[str, Any]:
    """Download and read the reference statistics logged with the model's training run."""
    dst.mkdir(parents=True, exist_ok=True)
    try:
        local = client.download_artifacts(run_id, REFERENCE_ARTIFACT, str(dst))
    except Exception as exc:  # noqa: BLE001 - any store error means the same to the user
        raise InputError(
            f"run {run_id}", f"has no reference statistics at {REFERENCE_ARTIFACT} ({exc})",
            "retrain the champion with mlops_train_register (it logs them)",
        ) from exc
    return json.loads(Path(local).read_text())


def run_drift_check(*, client, champion: dict[str, Any], batch_path: str, report_folder: str | Path,
                    config: DriftConfig, context: dict[str, Any] | None = None,
                    metric: str = DEFAULT_METRIC) -> dict[str, Any]:
    """Compute drift for ``batch_path``, write ``drift.json`` / ``drift.html``, log metrics to MLflow.

    ``champion`` is the dict from ``MlflowHook.get_alias_version``. Returns a JSON-able summary.
    """
    from include.mlops import reports, training
    from include.mlops.data import read_batch

    folder = Path(report_folder)
    folder.mkdir(parents=True, exist_ok=True)
    reference = load_reference(client, champion["run_id"], folder / "reference")
    frame = read_batch(batch_path)
    model_uri = f"models:/{champion['name']}@{CHAMPION}"
    predictions = predict_batch(model_uri, frame)
    has_label = LABEL in frame.columns and frame[LABEL].notna().all() and frame[LABEL].nunique() > 1
    current_perf = None
    if has_label:
        import mlflow

        X, y = training.xy(frame)
        current_perf = training.evaluate(mlflow.sklearn.load_model(model_uri), X, y)
    report = compute_drift(reference, frame, config, predictions=predictions, current_performance=current_perf,
                           metric=metric)
    data = report.to_dict()
    plots = {}
    kinds = {f.feature: f.kind for f in report.features}
    for name in report.drifted_features:
        ref = reference["numeric"].get(name) or reference["categorical"].get(name)
        plots[name] = reports.drift_plot(name, ref, frame[name], kinds[name])
    if report.prediction is not None and report.prediction.drifted:
        plots["prediction"] = reports.drift_plot("prediction", reference["prediction"], predictions, "numeric")
    facts = {"batch": batch_path, "rows": len(frame), "model": f"{champion['name']} v{champion['version']} "
             f"(@{CHAMPION})", "champion run": champion["run_id"], **(context or {})}
    json_path = write_report(folder, "drift.json", {"context": facts, **data})
    html_path = write_report(folder, "drift.html", reports.drift_html(data, plots, facts))

    # Log to MLflow against the champion: a monitoring run in the champion's experiment, tagged
    # with the model version, and the latest drift share as a model-version tag.
    champion_run = client.get_run(champion["run_id"])
    mon = client.create_run(champion_run.info.experiment_id, tags={
        "mlflow.runName": f"drift-{time.strftime('%Y%m%dT%H%M%S')}",
        "delivery.kind": "drift_monitor",
        "delivery.model_name": champion["name"],
        "delivery.model_version": str(champion["version"]),
        "delivery.batch_path": batch_path,
        **{f"delivery.{k}": str(v) for k, v in (context or {}).items()},
    })
    rid = mon.info.run_id
    client.log_metric(rid, "drift_share", report.drift_share)
    client.log_metric(rid, "dataset_drift", float(report.dataset_drift))
    for f in report.features:
        if f.statistic is not None and f.statistic == f.statistic and abs(f.statistic) != float("inf"):
            client.log_metric(rid, f"drift_{f.feature}", float(f.statistic))
        if f.psi is not None:
            client.log_metric(rid, f"psi_{f.feature}", float(f.psi))
    if report.prediction is not None and report.prediction.statistic is not None:
        client.log_metric(rid, "prediction_drift", float(report.prediction.statistic))
    if report.performance:
        client.log_metric(rid, f"batch_{metric}", report.performance["current"])
        client.log_metric(rid, f"decay_{metric}", report.performance["decay"])
    client.log_artifact(rid, str(json_path))
    client.log_artifact(rid, str(html_path))
    client.set_terminated(rid)
    client.set_model_version_tag(champion["name"], str(champion["version"]), "delivery.last_drift_share",
                                 f"{report.drift_share:.3f}")
    return {
        "batch_path": batch_path,
        "batch_sha256": (context or {}).get("batch_sha256"),
        "dag_run_id": (context or {}).get("dag_run_id"),
        "drift_share": report.drift_share,
        "threshold_share": report.threshold_share,
        "dataset_drift": report.dataset_drift,
        "drifted_features": report.drifted_features,
        "performance": report.performance,
        "prediction_drifted": bool(report.prediction.drifted) if report.prediction else None,
        "retrain": report.retrain,
        "has_label": bool(has_label),
        "champion_version": str(champion["version"]),
        "mlflow_run_id": rid,
        "report_html": str(html_path),
        "report_json": str(json_path),
    }
