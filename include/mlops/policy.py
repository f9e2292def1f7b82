"""The promotion gate, like TFX Evaluator's "blessing": value and change thresholds.

A challenger is *blessed* (may become ``champion``) when

- its metric passes the absolute threshold (e.g. ROC AUC >= 0.90), and
- when a champion exists, it is not worse than the champion, measured on the same held-out data,
  by more than ``max_regression`` (e.g. 0.01), and it improves on it by at least
  ``min_improvement`` (default 0: an equal model may replace the champion).

``decide`` is a pure function of numbers, so the rules are tested as a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from include.common.errors import InputError
from include.mlops.constants import LOWER_IS_BETTER, METRICS


@dataclass(frozen=True)
class PromotionPolicy:
    metric: str = "roc_auc"
    min_value: float = 0.9
    max_regression: float = 0.01
    min_improvement: float = 0.0

    def __post_init__(self):
        if self.metric not in METRICS:
            raise InputError("target_metric", f"{self.metric!r} is not a known metric", f"use one of {list(METRICS)}")
        if self.max_regression < 0 or self.min_improvement < 0:
            raise InputError("thresholds", "max_regression and min_improvement must be >= 0", "give non-negative deltas")


def policy_from_params(params: dict[str, Any]) -> PromotionPolicy:
    """The :class:`PromotionPolicy` of mlops_train_register's params."""
    return PromotionPolicy(metric=params["target_metric"], min_value=params["min_metric"],
                           max_regression=params["max_regression"], min_improvement=params["min_improvement"])


@dataclass
class Decision:
    blessed: bool
    reasons: list[str] = field(default_factory=list)
    challenger_value: float | None = None
    champion_value: float | None = None


def decide(policy: PromotionPolicy, challenger: float | None, champion: float | None = None) -> Decision:
    """Bless or reject a challenger whose metric is ``challenger`` against the ``champion``'s value.

    ``champion`` is ``None`` when there is no champion yet: then only the absolute threshold applies.
    A missing or NaN challenger value is never blessed.
    """
    lower = policy.metric in LOWER_IS_BETTER
    reasons: list[str] = []
    if challenger is None or (isinstance(challenger, float) and math.isnan(challenger)):
        return Decision(False, [f"challenger has no {policy.metric} value"], None, champion)

    # "gain" > 0 means the challenger is better, whatever the metric's direction.
    def gain(a: float, b: float) -> float:
        return (b - a) if lower else (a - b)

    blessed = True
    passes_abs = challenger <= policy.min_value if lower else challenger >= policy.min_value
    cmp = "<=" if lower else ">="
    if passes_abs:
        reasons.append(f"{policy.metric} {challenger:.4f} {cmp} {policy.min_value} (absolute threshold met)")
    else:
        blessed = False
        reasons.append(f"{policy.metric} {challenger:.4f} fails the absolute threshold {cmp} {policy.min_value}")

    if champion is None or (isinstance(champion, float) and math.isnan(champion)):
        reasons.append("no champion yet: the absolute threshold decides")
        champion = None
    else:
        delta = gain(challenger, champion)
        if delta < -policy.max_regression:
            blessed = False
            reasons.append(
                f"worse than the champion ({champion:.4f}) by {-delta:.4f} > allowed regression {policy.max_regression}"
            )
        elif policy.min_improvement > 0 and delta < policy.min_improvement:
            blessed = False
            reasons.append(
                f"improves on the champion ({champion:.4f}) by {delta:.4f} < required improvement {policy.min_improvement}"
            )
        else:
            reasons.append(f"within the champion's {champion:.4f} by {delta:+.4f} (relative threshold met)")
    return Decision(blessed, reasons, float(challenger), champion)
