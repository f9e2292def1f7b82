"""The promotion gate against MLflow: score the champion on the challenger's held-out data, decide, tag.

The rules are :func:`include.mlops.policy.decide` (a pure function of numbers); this module
brings the numbers from the registry and writes the decision back as model-version tags
(``delivery.gate.*``). The ``MlflowClient`` is passed in; models load through the ``mlflow``
module, so the caller points it at the store first.
"""

from __future__ import annotations

import json
from typing import Any

from include.mlops import data as data_mod
from include.mlops.constants import CHAMPION


def score_model(model_uri: str, held_out_path: str) -> dict[str, float]:
    """Metrics of the model at ``model_uri`` on the held-out CSV (the gate's common ground)."""
    import mlflow

    from include.mlops import training

    frame = data_mod.read_batch(held_out_path)
    model = mlflow.sklearn.load_model(model_uri)
    X, y = training.xy(frame)
    return training.evaluate(model, X, y)


def gate(client, *, name: str, version: str, challenger_metrics: dict[str, float], held_out_path: str,
         policy) -> dict[str, Any]:
    """Compare challenger ``version`` with the current champion on the same held-out data; tag the decision.

    ``client`` is an ``MlflowClient``; ``policy`` an :class:`include.mlops.policy.PromotionPolicy`.
    The decision and its reasons become model-version tags (``delivery.gate.*``).
    """
    from mlflow.exceptions import MlflowException

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
