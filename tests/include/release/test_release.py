"""The release policy on a real SQLite MLflow store: each missing piece of evidence blocks with its reason."""

from __future__ import annotations

import hashlib
import json

import pytest

from include.common.errors import InputError
from include.release import decision as decision_mod
from include.release import policy
from include.release.model import decide_model

MODEL = "release-test-model"
RUN = {"dag_id": "mlops_promote_to_gitops", "dag_run_id": "manual__1"}
DEV = {"repo_url": "file:///tmp/m.git", "branch": "main", "path": "apps/shop/overlays/dev", "app": "shop"}
PROD = {**DEV, "path": "apps/shop/overlays/prod", "app": "shop-prod"}
APPROVED = {"chosen_options": ["Approve"], "responded_by_user": {"id": "1", "name": "ada"},
            "responded_at": "2026-12-02T10:00:00+00:00", "params_input": {}}


@pytest.fixture
def client(mlops_env):
    from delivery.hooks.mlflow import MlflowHook

    return MlflowHook().activate()


def new_version(client, **evidence) -> dict:
    """A version with its own training run; ``blessed=None``: no gate ran on it."""
    from release_evidence import bless, training_run

    decision = evidence.pop("gate", "blessed")
    try:
        client.create_registered_model(MODEL)
    except Exception:  # noqa: BLE001
        pass
    run_id = training_run(client, **evidence)
    mv = client.create_model_version(MODEL, source=f"{client.get_run(run_id).info.artifact_uri}/model", run_id=run_id)
    if decision:
        bless(client, MODEL, mv.version, decision)
    return {"version": mv.version, "model": {"name": MODEL, "run_id": run_id}}


def test_a_blessed_model_with_validated_data_is_allowed_to_dev_and_the_statement_names_the_evidence(client):
    event = new_version(client)
    decided = decide_model(client, DEV, event, approval=None, run=RUN)
    assert decided.allowed and decided.environment == "dev", decided.reasons
    statement = decided.statement
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"][0]["name"] == f"models:/{MODEL}/{event['version']}"
    evidence = {e["name"]: e for e in statement["predicate"]["evidence"]}
    assert evidence["model_blessed"]["ok"] and evidence["data_validated"]["ok"]
    assert evidence["data_validated"]["digest"].startswith("sha256:")
    # the file committed with the change is the canonical statement: its sha256 is the trailer's digest
    (path, text), = decision_mod.statement_file(decided.as_dict(), "shop").items()
    assert "sha256:" + hashlib.sha256(text.encode()).hexdigest() == decided.digest
    assert path == f".delivery/releases/shop/{decided.digest.split(':')[1]}.json"
    assert json.loads(text) == statement


@pytest.mark.parametrize("evidence, named", [
    ({"gate": None}, "model_blessed: models:/release-test-model/"),
    ({"gate": "rejected"}, "was rejected by the promotion gate"),
    ({"validated": False}, "data_validated: the validation of data"),
    ({"hash_matches": False}, "is for data"),
])
def test_each_missing_piece_of_model_evidence_blocks_with_its_reason(client, evidence, named):
    event = new_version(client, **evidence)
    decided = decide_model(client, DEV, event, approval=None, run=RUN)
    assert not decided.allowed
    assert any(named in reason for reason in decided.reasons), decided.reasons
    with pytest.raises(decision_mod.ReleaseBlocked, match="nothing was committed"):
        decision_mod.check(decided, "the model")


def test_a_prod_promotion_needs_a_persons_approval_and_names_who_gave_it(client):
    event = new_version(client)
    unapproved = decide_model(client, PROD, event, approval=None, run=RUN)
    assert not unapproved.allowed and unapproved.environment == "prod"
    assert unapproved.reasons == ("approval: nobody approved this run: run it with require_approval=true and approve "
                                  "it in the Airflow UI (Required actions)",)
    rejected = decide_model(client, PROD, event, approval={**APPROVED, "chosen_options": ["Reject"]}, run=RUN)
    assert not rejected.allowed
    approved = decide_model(client, PROD, event, approval=APPROVED, run=RUN)
    assert approved.allowed, approved.reasons
    assert approved.statement["predicate"]["approved_by"] == "HITL response of ada"


def test_a_closed_sync_window_blocks_the_release(client, tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("environments:\n  - name: dev\n    paths: ['*']\n    require: [sync_window_open]\n"
                    "    sync_windows: [{kind: deny, schedule: '* * * * *', duration: 1h}]\n")
    decided = decide_model(client, DEV, new_version(client), approval=None, run=RUN, policy_path=str(path))
    assert not decided.allowed
    assert decided.reasons[0].startswith("sync_window_open: dev: blocked by the active deny window")


@pytest.mark.parametrize("text, named", [
    ("environments: []\n", "no environments list"),
    ("environments:\n  - {name: dev, paths: ['*'], require: [vibes]}\n", "unknown evidence ['vibes']"),
    ("environments:\n  - {name: dev, paths: ['*'], sync_windows: [{kind: deny}]}\n", "schedule"),
    ("environments:\n  - {name: prod, paths: ['*/prod']}\n", None),
])
def test_a_bad_policy_file_is_refused_naming_the_field(tmp_path, text, named):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    if named is None:
        with pytest.raises(InputError, match="no environment covers the overlay path 'apps/x/dev'"):
            policy.load(path).environment_for("apps/x/dev")
    else:
        with pytest.raises(InputError, match=named.replace("[", r"\[").replace("]", r"\]")):
            policy.load(path)


def test_the_default_policy_puts_prod_overlays_in_prod_and_the_rest_in_dev():
    pol = policy.load()
    assert pol.environment_for("apps/shop/overlays/prod").name == "prod"
    assert pol.environment_for("apps/shop/overlays/dev").name == "dev"
    assert "approval" in pol.environment_for("apps/shop/overlays/prod").required_for("model")
    assert "approval" not in pol.environment_for("apps/shop/overlays/dev").required_for("model")
