"""Model versions that carry the evidence the release policy checks, as mlops_train_register leaves them:
a training run tagged with its data hash and its validation report (``validation.json`` beside it, for
that hash), and the promotion gate's ``delivery.gate.*`` tags on the version."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path


def training_run(client, *, validated: bool = True, hash_matches: bool = True, experiment_id: str = "0") -> str:
    """A terminated run with the lineage tags; its validation.json passed (or not) for its data hash."""
    folder = Path(tempfile.mkdtemp(prefix="release-evidence-"))
    data_hash = hashlib.sha256(folder.name.encode()).hexdigest()
    checked = data_hash if hash_matches else hashlib.sha256(b"another batch").hexdigest()
    (folder / "validation.json").write_text(json.dumps({
        "batch": {"path": str(folder / "batch.csv"), "sha256": checked}, "success": validated,
        "statistics": {"evaluated_expectations": 12, "successful_expectations": 12 if validated else 10}}))
    run = client.create_run(experiment_id, tags={"mlflow.runName": "release-evidence",
                                                 "delivery.data_sha256": data_hash,
                                                 "delivery.validation_result": str(folder / "validation.json")})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def bless(client, name: str, version: str, decision: str = "blessed") -> None:
    """The promotion gate's tags on a version (include.mlops.promotion_gate writes the same keys)."""
    tags = {"delivery.gate.decision": decision, "delivery.gate.reasons": "test fixture",
            "delivery.gate.metric": "f1", "delivery.gate.challenger_value": "0.9",
            "delivery.gate.champion_version": "none", "delivery.gate.champion_value": "none",
            "delivery.gate.policy": json.dumps({"metric": "f1", "min_value": 0.5, "min_improvement": 0.0})}
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)


def register_released(client, name: str, count: int, **evidence) -> None:
    """Register ``count`` versions of ``name``, each from its own training run, each blessed."""
    try:
        client.create_registered_model(name)
    except Exception:  # noqa: BLE001 - it exists already
        pass
    for _ in range(count):
        run_id = training_run(client, **evidence)
        run = client.get_run(run_id)
        mv = client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run_id)
        bless(client, name, mv.version)
