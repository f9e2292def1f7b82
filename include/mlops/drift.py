"""Drift statistics with the field's defaults (the choices Evidently and NannyML make).

Reference statistics are taken from the training data when a model is trained
(:func:`reference_stats`, saved with the model as JSON) and compared with a new batch
(:func:`compute_drift`).

Per feature, with ``method="auto"``:

- numeric, batch of at most ``small_sample`` rows: two-sample Kolmogorov-Smirnov, drift when p < 0.05;
- numeric, larger batches: Wasserstein distance normed by the reference standard deviation,
  drift when > 0.1;
- categorical, small batches: chi-squared test on the reference/batch contingency table, drift when
  p < 0.05; larger batches: Jensen-Shannon distance, drift when > 0.1.

PSI (10 quantile bins of the reference) is computed for every numeric feature as well, with a
warning level (> 0.1) and an alert level (> 0.2). Every threshold lives in :class:`DriftConfig`.
The data set drifts when the share of drifted features reaches ``drift_share`` (0.5).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from include.common.errors import InputError

NUMERIC_METHODS = ("auto", "ks", "wasserstein", "psi")
CATEGORICAL_METHODS = ("auto", "chi2", "jensenshannon")
_EPS = 1e-4


@dataclass(frozen=True)
class DriftConfig:
    numeric_method: str = "auto"
    categorical_method: str = "auto"
    small_sample: int = 1000
    p_value: float = 0.05
    wasserstein: float = 0.1
    jensenshannon: float = 0.1
    psi_warn: float = 0.1
    psi_alert: float = 0.2
    drift_share: float = 0.5
    max_performance_decay: float = 0.05
    # Distances on more values than this use a seeded random subsample (PSI always uses every value).
    max_sample: int = 200_000

    def __post_init__(self):
        for name, methods in (("numeric_method", NUMERIC_METHODS), ("categorical_method", CATEGORICAL_METHODS)):
            if getattr(self, name) not in methods:
                raise InputError(name, f"{getattr(self, name)!r} is unknown", f"use one of {methods}")
        if not 0 < self.drift_share <= 1:
            raise InputError("drift_share", f"{self.drift_share} is outside (0, 1]", "give a fraction such as 0.5")


@dataclass
class FeatureDrift:
    feature: str
    kind: str  # numeric | categorical | prediction
    method: str
    statistic: float | None
    threshold: float
    drifted: bool
    p_value: float | None = None
    psi: float | None = None
    psi_level: str | None = None  # ok | warn | alert
    n_reference: int = 0
    n_current: int = 0
    note: str = ""


@dataclass
class DriftReport:
    features: list[FeatureDrift]
    drift_share: float
    dataset_drift: bool
    threshold_share: float
    prediction: FeatureDrift | None = None
    performance: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def retrain(self) -> bool:
        """Retraining is due: the data set drifted, or the model's performance decayed."""
        return self.dataset_drift or bool(self.performance.get("decayed"))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["drifted_features"] = self.drifted_features
        out["retrain"] = self.retrain
        return _clean(out)


def _clean(obj):
    """JSON-safe: NaN and infinities become None, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# ---------------------------------------------------------------- reference statistics


def reference_stats(frame, numeric: list[str], categorical: list[str], *, sample_size: int = 5000,
                    seed: int = 0, predictions=None, performance: dict | None = None) -> dict[str, Any]:
    """The statistics the monitor compares batches with (JSON-serialisable).

    Numeric: a seeded sample of at most ``sample_size`` values (for KS and Wasserstein), the
    standard deviation, and the PSI bin edges and proportions. Categorical: value counts.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"n_rows": int(len(frame)), "numeric": {}, "categorical": {}}
    for col in numeric:
        values = frame[col].dropna().to_numpy(dtype="float64")
        out["numeric"][col] = _numeric_ref(values, sample_size, rng)
    for col in categorical:
        counts = frame[col].dropna().astype(str).value_counts()
        out["categorical"][col] = {"counts": {str(k): int(v) for k, v in counts.items()}}
    if predictions is not None:
        out["prediction"] = _numeric_ref(np.asarray(predictions, dtype="float64"), sample_size, rng)
    if performance:
        out["performance"] = dict(performance)
    return _clean(out)


def _numeric_ref(values, sample_size: int, rng) -> dict[str, Any]:
    import numpy as np

    sample = values if len(values) <= sample_size else rng.choice(values, sample_size, replace=False)
    edges = np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9))) if len(values) else np.array([])
    props = _bucket_props(values, edges)
    return {
        "sample": sample.tolist(),
        "n": int(len(values)),
        "mean": float(values.mean()) if len(values) else None,
        "std": float(values.std()) if len(values) else None,
        "edges": edges.tolist(),
        "props": props.tolist(),
    }


def _bucket_props(values, edges):
    import numpy as np

    if len(values) == 0:
        return np.zeros(len(edges) + 1)
    idx = np.searchsorted(edges, values, side="right")
    return np.bincount(idx, minlength=len(edges) + 1) / len(values)


# ---------------------------------------------------------------- statistics


def psi(ref_props, cur_props) -> float:
    """Population stability index of two bucket-proportion vectors (epsilon-smoothed)."""
    import numpy as np

    a = np.clip(np.asarray(ref_props, dtype="float64"), _EPS, None)
    b = np.clip(np.asarray(cur_props, dtype="float64"), _EPS, None)
    return float(np.sum((b - a) * np.log(b / a)))


def numeric_drift(name: str, ref: dict[str, Any], current, config: DriftConfig) -> FeatureDrift:
    """Drift of one numeric feature: ``ref`` from :func:`reference_stats`, ``current`` an array."""
    import numpy as np
    from scipy import stats

    cur = np.asarray(current, dtype="float64")
    cur = cur[~np.isnan(cur)]
    ref_sample = np.asarray(ref["sample"], dtype="float64")
    base = dict(feature=name, kind="numeric", n_reference=int(ref.get("n", len(ref_sample))), n_current=int(len(cur)))
    if len(cur) == 0 or len(ref_sample) == 0:
        return FeatureDrift(method="none", statistic=None, threshold=0.0, drifted=False,
                            note="no values to compare", **base)
    psi_value = psi(ref["props"], _bucket_props(cur, np.asarray(ref["edges"])))
    level = "alert" if psi_value > config.psi_alert else "warn" if psi_value > config.psi_warn else "ok"
    method = config.numeric_method
    if method == "auto":
        method = "ks" if len(cur) <= config.small_sample else "wasserstein"
    if len(cur) > config.max_sample:
        cur = np.random.default_rng(0).choice(cur, config.max_sample, replace=False)
    if method == "ks":
        res = stats.ks_2samp(ref_sample, cur)
        pv = float(res.pvalue)
        return FeatureDrift(method="ks", statistic=float(res.statistic), p_value=pv, threshold=config.p_value,
                            drifted=pv < config.p_value, psi=psi_value, psi_level=level, **base)
    if method == "wasserstein":
        dist = float(stats.wasserstein_distance(ref_sample, cur))
        std = float(ref.get("std") or 0.0)
        if std > 0:
            normed = dist / std
        else:  # a constant reference: any movement is drift
            normed = 0.0 if dist == 0 else math.inf
        return FeatureDrift(method="wasserstein_normed", statistic=normed, threshold=config.wasserstein,
                            drifted=normed > config.wasserstein, psi=psi_value, psi_level=level, **base)
    return FeatureDrift(method="psi", statistic=psi_value, threshold=config.psi_alert,
                        drifted=psi_value > config.psi_alert, psi=psi_value, psi_level=level, **base)


def categorical_drift(name: str, ref_counts: dict[str, int], current, config: DriftConfig) -> FeatureDrift:
    """Drift of one categorical feature: reference value counts against the batch's values.

    Categories seen on one side only (new or vanished categories) take part in the test.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    counts = pd.Series(current).value_counts(dropna=True)  # count first, then name: fast on big batches
    cur_counts: dict[str, int] = {}
    for key, n in counts.items():
        cur_counts[str(key)] = cur_counts.get(str(key), 0) + int(n)
    # Categories empty on both sides carry no information (and would break the chi-squared test).
    cats = sorted(k for k in set(ref_counts) | set(cur_counts) if ref_counts.get(k, 0) or cur_counts.get(k, 0))
    r = np.array([ref_counts.get(c, 0) for c in cats], dtype="float64")
    c = np.array([cur_counts.get(k, 0) for k in cats], dtype="float64")
    new = [k for k in cats if ref_counts.get(k, 0) == 0 and cur_counts.get(k, 0) > 0]
    note = f"new categories {new}" if new else ""
    base = dict(feature=name, kind="categorical", n_reference=int(r.sum()), n_current=int(c.sum()))
    if r.sum() == 0 or c.sum() == 0:
        return FeatureDrift(method="none", statistic=None, threshold=0.0, drifted=False,
                            note="no values to compare", **base)
    method = config.categorical_method
    if method == "auto":
        method = "chi2" if c.sum() <= config.small_sample else "jensenshannon"
    if method == "chi2":
        if len(cats) < 2:  # one single category on both sides: nothing can differ
            return FeatureDrift(method="chi2", statistic=0.0, p_value=1.0, threshold=config.p_value,
                                drifted=False, note=note, **base)
        chi2, pv, _, _ = stats.chi2_contingency(np.vstack([r, c]))
        return FeatureDrift(method="chi2", statistic=float(chi2), p_value=float(pv), threshold=config.p_value,
                            drifted=float(pv) < config.p_value, note=note, **base)
    dist = float(jensenshannon(r / r.sum(), c / c.sum(), base=2))
    return FeatureDrift(method="jensenshannon", statistic=dist, threshold=config.jensenshannon,
                        drifted=dist > config.jensenshannon, note=note, **base)


def compute_drift(reference: dict[str, Any], frame, config: DriftConfig | None = None, *,
                  predictions=None, current_performance: dict | None = None, metric: str = "roc_auc") -> DriftReport:
    """Compare a batch (DataFrame) with the reference statistics: per feature, data set, prediction, performance."""
    config = config or DriftConfig()
    features: list[FeatureDrift] = []
    for name, ref in reference.get("numeric", {}).items():
        if name not in frame.columns:
            features.append(FeatureDrift(name, "numeric", "none", None, 0.0, False, note="missing from the batch"))
            continue
        features.append(numeric_drift(name, ref, frame[name].to_numpy(dtype="float64", na_value=float("nan")), config))
    for name, ref in reference.get("categorical", {}).items():
        if name not in frame.columns:
            features.append(FeatureDrift(name, "categorical", "none", None, 0.0, False, note="missing from the batch"))
            continue
        features.append(categorical_drift(name, ref["counts"], frame[name], config))
    evaluated = [f for f in features if f.method != "none"]
    share = (sum(f.drifted for f in evaluated) / len(evaluated)) if evaluated else 0.0
    prediction = None
    if predictions is not None and reference.get("prediction"):
        prediction = numeric_drift("prediction", reference["prediction"], predictions, config)
        prediction.kind = "prediction"
    performance: dict[str, Any] = {}
    ref_perf = (reference.get("performance") or {}).get(metric)
    if current_performance and current_performance.get(metric) is not None and ref_perf is not None:
        decay = float(ref_perf) - float(current_performance[metric])
        performance = {"metric": metric, "reference": float(ref_perf), "current": float(current_performance[metric]),
                       "decay": decay, "threshold": config.max_performance_decay,
                       "decayed": decay > config.max_performance_decay}
    return DriftReport(features=features, drift_share=share, dataset_drift=share >= config.drift_share,
                       threshold_share=config.drift_share, prediction=prediction, performance=performance)
