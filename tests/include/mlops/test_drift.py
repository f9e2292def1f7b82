"""Drift statistics on known distributions, and their edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from include.common.errors import InputError
from include.mlops.drift import DriftConfig, categorical_drift, compute_drift, numeric_drift, psi, reference_stats

RNG = np.random.default_rng(42)


def _ref(values):
    frame = pd.DataFrame({"x": values})
    return reference_stats(frame, ["x"], [])["numeric"]["x"]


@pytest.mark.parametrize("n", [300, 5000], ids=["ks-small", "wasserstein-large"])
def test_identical_distribution_not_flagged(n):
    ref = _ref(RNG.normal(0, 1, 5000))
    result = numeric_drift("x", ref, RNG.normal(0, 1, n), DriftConfig())
    assert result.method == ("ks" if n <= 1000 else "wasserstein_normed")
    assert not result.drifted, result
    assert result.psi_level == "ok"


@pytest.mark.parametrize("n", [300, 5000], ids=["ks-small", "wasserstein-large"])
def test_shifted_distribution_flagged(n):
    ref = _ref(RNG.normal(0, 1, 5000))
    result = numeric_drift("x", ref, RNG.normal(0.5, 1, n), DriftConfig())
    assert result.drifted, result
    assert result.psi_level in ("warn", "alert")


def test_psi_method_uses_alert_threshold():
    ref = _ref(RNG.normal(0, 1, 5000))
    cfg = DriftConfig(numeric_method="psi")
    assert not numeric_drift("x", ref, RNG.normal(0, 1, 5000), cfg).drifted
    shifted = numeric_drift("x", ref, RNG.normal(1.0, 1, 5000), cfg)
    assert shifted.drifted and shifted.statistic > 0.2


def test_psi_of_identical_proportions_is_zero():
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(0.0)
    assert psi([0.5, 0.5], [0.9, 0.1]) > 0.2


@pytest.mark.parametrize("method", ["ks", "wasserstein", "psi"])
def test_constant_column_same_constant_not_flagged(method):
    ref = _ref(np.full(500, 3.0))
    result = numeric_drift("x", ref, np.full(800, 3.0), DriftConfig(numeric_method=method))
    assert not result.drifted, result


@pytest.mark.parametrize("method", ["ks", "wasserstein"])
def test_constant_column_moved_is_flagged(method):
    ref = _ref(np.full(500, 3.0))
    result = numeric_drift("x", ref, np.full(800, 4.0), DriftConfig(numeric_method=method))
    assert result.drifted, result


def test_all_missing_batch_column_is_reported_not_flagged():
    ref = _ref(RNG.normal(0, 1, 100))
    result = numeric_drift("x", ref, np.full(50, np.nan), DriftConfig())
    assert not result.drifted and result.note == "no values to compare"


def _cats(counts):
    return [k for k, n in counts.items() for _ in range(n)]


@pytest.mark.parametrize("n_scale", [1, 20], ids=["chi2-small", "jensenshannon-large"])
def test_categorical_identical_not_flagged(n_scale):
    ref = {"a": 400, "b": 300, "c": 300}
    cur = _cats({"a": 40 * n_scale, "b": 30 * n_scale, "c": 30 * n_scale})
    result = categorical_drift("c", ref, cur, DriftConfig())
    assert not result.drifted, result


@pytest.mark.parametrize("n_scale", [1, 20], ids=["chi2-small", "jensenshannon-large"])
def test_categorical_shift_flagged(n_scale):
    ref = {"a": 400, "b": 300, "c": 300}
    cur = _cats({"a": 10 * n_scale, "b": 30 * n_scale, "c": 60 * n_scale})
    result = categorical_drift("c", ref, cur, DriftConfig())
    assert result.drifted, result


def test_new_category_is_named_and_flagged():
    ref = {"a": 500, "b": 500}
    cur = _cats({"a": 40, "b": 40, "new": 20})
    result = categorical_drift("c", ref, cur, DriftConfig())
    assert result.drifted and "new" in result.note


def test_empty_category_in_batch_does_not_break_the_test():
    # Category "c" exists in the reference but is empty in the batch (and vice versa "d").
    ref = {"a": 500, "b": 480, "c": 20, "d": 0}
    cur = _cats({"a": 50, "b": 50})
    result = categorical_drift("c", ref, cur, DriftConfig())
    assert result.p_value is not None and 0 <= result.p_value <= 1
    assert not result.drifted  # 2 % of mass missing in 100 rows is not significant


def test_single_category_both_sides_not_flagged():
    result = categorical_drift("c", {"only": 100}, ["only"] * 30, DriftConfig())
    assert not result.drifted


def test_empty_batch_category_column():
    result = categorical_drift("c", {"a": 10}, pd.Series([None, None], dtype=object), DriftConfig())
    assert not result.drifted and result.note == "no values to compare"


def test_dataset_drift_share_and_missing_column():
    base = pd.DataFrame({"x": RNG.normal(0, 1, 2000), "y": RNG.normal(5, 2, 2000), "c": RNG.choice(["a", "b"], 2000)})
    ref = reference_stats(base, ["x", "y"], ["c"])
    same = compute_drift(ref, base.sample(500, random_state=1))
    assert same.drift_share == 0 and not same.dataset_drift
    moved = base.sample(500, random_state=1).assign(x=lambda f: f.x + 2, y=lambda f: f.y + 4)
    drifted = compute_drift(ref, moved)
    assert set(drifted.drifted_features) == {"x", "y"}
    assert drifted.dataset_drift and drifted.retrain
    assert compute_drift(ref, moved, DriftConfig(drift_share=0.9)).dataset_drift is False
    missing = compute_drift(ref, base.drop(columns=["y"]).head(300))
    assert [f.note for f in missing.features if f.feature == "y"] == ["missing from the batch"]


def test_performance_decay_requests_retraining():
    base = pd.DataFrame({"x": RNG.normal(0, 1, 500)})
    ref = reference_stats(base, ["x"], [], performance={"roc_auc": 0.95})
    report = compute_drift(ref, base, current_performance={"roc_auc": 0.80})
    assert report.performance["decayed"] and report.retrain and not report.dataset_drift
    ok = compute_drift(ref, base, current_performance={"roc_auc": 0.94})
    assert not ok.performance["decayed"] and not ok.retrain


def test_report_is_json_safe():
    import json

    ref = _ref(np.full(100, 1.0))
    frame = pd.DataFrame({"x": np.full(2000, 2.0)})
    report = compute_drift({"numeric": {"x": ref}, "categorical": {}}, frame)  # infinite normed distance
    json.dumps(report.to_dict(), allow_nan=False)


def test_bad_config_is_an_input_error():
    with pytest.raises(InputError):
        DriftConfig(numeric_method="magic")
    with pytest.raises(InputError):
        DriftConfig(drift_share=0)
