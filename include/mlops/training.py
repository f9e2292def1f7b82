"""The model: a scikit-learn pipeline, its search space, cross-validation folds, metrics and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from include.mlops.constants import CATEGORICAL_FEATURES, FEATURES, LABEL, NUMERIC_FEATURES


def search_space(trial) -> dict[str, Any]:
    """The hyper-parameters Optuna tunes (a random forest: fast and robust on 2 cores)."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 10, 80, step=10),
        "max_depth": trial.suggest_int("max_depth", 2, 12),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 12),
        "max_features": trial.suggest_categorical("max_features", ["sqrt", "log2", "all"]),
    }


def build_pipeline(params: dict[str, Any], seed: int = 0):
    """Impute + one-hot encode + random forest, with ``params`` from :func:`search_space`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer(
        [
            ("num", SimpleImputer(strategy="median"), list(NUMERIC_FEATURES)),
            ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL_FEATURES)),
        ]
    )
    max_features = params.get("max_features", "sqrt")
    forest = RandomForestClassifier(
        n_estimators=int(params.get("n_estimators", 100)),
        max_depth=params.get("max_depth"),
        min_samples_leaf=int(params.get("min_samples_leaf", 1)),
        max_features=None if max_features == "all" else max_features,
        random_state=seed,
        n_jobs=1,
    )
    return Pipeline([("pre", pre), ("model", forest)])


def xy(frame):
    """Features and label of a frame (categoricals as strings)."""
    X = frame[list(FEATURES)].copy()
    for col in CATEGORICAL_FEATURES:
        X[col] = X[col].astype(str)
    return X, frame[LABEL].astype(int)


def folds(y, n_folds: int = 3, seed: int = 0) -> list[tuple[Any, Any]]:
    """Stratified CV folds (deterministic for a seed)."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(y, y))


def evaluate(model, X, y) -> dict[str, float]:
    """ROC AUC, accuracy, F1 and log loss of ``model`` on (X, y)."""
    from sklearn import metrics

    proba = model.predict_proba(X)[:, 1]
    pred = (proba >= 0.5).astype(int)
    out = {
        "accuracy": float(metrics.accuracy_score(y, pred)),
        "f1": float(metrics.f1_score(y, pred, zero_division=0)),
        "log_loss": float(metrics.log_loss(y, proba, labels=[0, 1])),
    }
    out["roc_auc"] = float(metrics.roc_auc_score(y, proba)) if len(set(y)) > 1 else float("nan")
    return out


def feature_importance(model) -> dict[str, float]:
    """Impurity importances summed back onto the input features (one-hot columns folded)."""
    names = model.named_steps["pre"].get_feature_names_out()
    values = model.named_steps["model"].feature_importances_
    out: dict[str, float] = {}
    for name, value in zip(names, values):
        base = name.split("__", 1)[1]
        for cat in CATEGORICAL_FEATURES:
            if base.startswith(cat + "_"):
                base = cat
        out[base] = out.get(base, 0.0) + float(value)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def write_plots(model, X, y, out_dir: str | Path) -> list[Path]:
    """ROC curve, confusion matrix and feature importance as PNG files (the study's plots are Optuna's own:
    ``include.mlops.tuning.study_plots``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay, RocCurveDisplay

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, ax = plt.subplots(figsize=(4.5, 4))
    RocCurveDisplay.from_estimator(model, X, y, ax=ax)
    ax.set_title("ROC on the held-out split")
    paths.append(_save(fig, out / "roc_curve.png"))

    fig, ax = plt.subplots(figsize=(4.5, 4))
    ConfusionMatrixDisplay.from_estimator(model, X, y, ax=ax, colorbar=False)
    ax.set_title("Confusion matrix (held-out)")
    paths.append(_save(fig, out / "confusion_matrix.png"))

    imp = feature_importance(model)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.barh(list(imp)[::-1], list(imp.values())[::-1])
    ax.set_title("Feature importance")
    paths.append(_save(fig, out / "feature_importance.png"))

    return paths


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
