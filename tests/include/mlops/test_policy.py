"""The promotion gate as a table: (policy, challenger, champion) -> blessed, and why."""

from __future__ import annotations

import math

import pytest

from include.common.errors import InputError
from include.mlops.policy import PromotionPolicy, decide

AUC = PromotionPolicy(metric="roc_auc", min_value=0.9, max_regression=0.01)
STRICT = PromotionPolicy(metric="roc_auc", min_value=0.9, max_regression=0.01, min_improvement=0.005)
LOSS = PromotionPolicy(metric="log_loss", min_value=0.3, max_regression=0.02)

CASES = [
    # id, policy, challenger, champion, blessed, words in the reasons
    ("first model passes absolute", AUC, 0.95, None, True, "no champion yet"),
    ("first model fails absolute", AUC, 0.85, None, False, "fails the absolute threshold"),
    ("exactly at the absolute threshold", AUC, 0.9, None, True, "absolute threshold met"),
    ("better than champion", AUC, 0.97, 0.95, True, "relative threshold met"),
    ("equal to champion", AUC, 0.95, 0.95, True, "relative threshold met"),
    ("slightly worse, within delta", AUC, 0.945, 0.95, True, "relative threshold met"),
    ("worse by more than delta", AUC, 0.93, 0.95, False, "worse than the champion"),
    ("passes relative but fails absolute", AUC, 0.88, 0.885, False, "fails the absolute threshold"),
    ("required improvement not reached", STRICT, 0.952, 0.95, False, "required improvement"),
    ("required improvement reached", STRICT, 0.96, 0.95, True, "relative threshold met"),
    ("NaN challenger", AUC, math.nan, 0.95, False, "no roc_auc value"),
    ("missing challenger", AUC, None, None, False, "no roc_auc value"),
    ("NaN champion counts as none", AUC, 0.95, math.nan, True, "no champion yet"),
    ("loss: lower is better, improvement", LOSS, 0.20, 0.25, True, "relative threshold met"),
    ("loss: worse by more than delta", LOSS, 0.28, 0.25, False, "worse than the champion"),
    ("loss: above absolute ceiling", LOSS, 0.35, None, False, "fails the absolute threshold"),
]


@pytest.mark.parametrize("policy,challenger,champion,blessed,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision_table(policy, challenger, champion, blessed, words):
    decision = decide(policy, challenger, champion)
    assert decision.blessed is blessed, decision.reasons
    assert any(words in r for r in decision.reasons), decision.reasons


def test_unknown_metric_is_an_input_error():
    with pytest.raises(InputError, match="target_metric"):
        PromotionPolicy(metric="auc_pr")


def test_negative_delta_is_an_input_error():
    with pytest.raises(InputError):
        PromotionPolicy(max_regression=-0.1)
