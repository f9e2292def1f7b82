"""The human-in-the-loop approval of a promotion, answered through the REST API of a real Airflow.

``mlops_train_register`` with ``require_approval``: the blessed challenger waits in ``approve``
(Airflow's ``ApprovalOperator``, parked as ``awaiting_input``: no worker slot held) until a person answers. The
answer goes through ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/approve/-1/hitlDetails``
as the UI sends it. Approve: ``champion`` moves. Reject: ``promote`` is skipped and the champion
stays where it was.
"""

from __future__ import annotations

import secrets
import time

import pytest

from e2e.flow import PROMOTE, TRAIN, wait_for_task_state

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def answer(api, run_id: str, option: str) -> dict:
    path = f"/api/v2/dags/{TRAIN}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails"
    detail = api.get(path)
    assert detail["options"] == ["Approve", "Reject"], detail
    assert "to champion?" in detail["subject"] and detail["response_received"] is False, detail
    return api.request("PATCH", path, json={"chosen_options": [option]}).json()


def train_and_answer(api, model: str, option: str) -> tuple[dict, dict, dict]:
    run = api.trigger(TRAIN, {"model_name": model, "experiment": model, "n_trials": 2, "workers": 1,
                              "require_approval": True, "min_metric": 0.5})
    # Airflow 3.3 parks a HITL task as `awaiting_input` (a deferral: no worker slot is held)
    wait_for_task_state(api, TRAIN, run["dag_run_id"], "approve", {"awaiting_input", "deferred"}, timeout=600)
    # A person answers seconds after the request appears, not within the same second. (Answered
    # at once, the SQLite standalone was seen to store the answer without resuming the task.)
    time.sleep(3)
    said = answer(api, run["dag_run_id"], option)
    done = api.wait_for_run(TRAIN, run["dag_run_id"], timeout=300)
    return done, api.task_states(TRAIN, run["dag_run_id"]), said


def test_promotion_waits_for_a_person_and_follows_the_answer(airflow_api):
    from delivery.hooks.mlflow import MlflowHook

    model = f"hitl-{secrets.token_hex(3)}"
    airflow_api.wait_for_dags([TRAIN])
    airflow_api.unpause(TRAIN)
    # An approved champion emits model_promoted; this test is about the approval, not the deployment
    # that event starts (and a deployment of it would hold mlops_promote_to_gitops for other tests).
    airflow_api.pause(PROMOTE)
    registry = MlflowHook().get_client()

    done, tasks, said = train_and_answer(airflow_api, model, "Approve")
    assert done["state"] == "success", tasks
    assert tasks["approve"] == "success" and tasks["promote"] == "success", tasks
    assert said["chosen_options"] == ["Approve"] and said["responded_by"]["name"] == "admin"
    first = str(registry.get_model_version_by_alias(model, "champion").version)

    done, tasks, said = train_and_answer(airflow_api, model, "Reject")
    assert tasks["promote"] == "skipped", tasks
    assert str(registry.get_model_version_by_alias(model, "champion").version) == first, "a rejection moves nothing"
    versions = sorted(int(v.version) for v in registry.search_model_versions(f"name = '{model}'"))
    assert len(versions) == 2 and str(versions[0]) == first  # the rejected one is registered, not promoted
