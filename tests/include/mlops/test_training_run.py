"""The training run's steps: plan the search once (a retry finds it again), train only when a trial completed."""

from __future__ import annotations

import pytest

from include.common.errors import InputError
from include.mlops import training_run, tuning


def test_study_name_is_per_run_and_safe_for_tag_filters():
    assert tuning.study_name("mlops_train_register", "manual__2026-01-01T00:00:00+00:00") == \
        "mlops_train_register__manual__2026-01-01T00_00_00_00_00"


@pytest.mark.slow
def test_plan_search_is_idempotent(tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("e", artifact_location=(tmp_path / "artifacts").as_uri())
    storage = tuning.storage(f"sqlite:///{tmp_path / 'optuna.db'}")
    kwargs = dict(experiment_id=experiment, dag_id="mlops_train_register", dag_run_id="manual__1", timeout_s=60)
    first = training_run.plan_search(storage, client, trial_budget=4, **kwargs)
    again = training_run.plan_search(storage, client, trial_budget=9, **kwargs)  # a retry of the task
    assert again == first and first["study_name"] == "mlops_train_register__manual__1"
    parent = client.get_run(first["parent_run_id"])
    assert parent.data.tags["delivery.study"] == first["study_name"] and parent.data.tags["delivery.dag_run_id"] == "manual__1"
    import optuna

    assert optuna.load_study(study_name=first["study_name"], storage=storage).user_attrs["trial_budget"] == 4


def test_train_best_refuses_a_study_without_a_complete_trial():
    import optuna

    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="empty")
    study.enqueue_trial({})
    with pytest.raises(InputError, match="tuning_timeout / n_trials: no trial completed"):
        training_run.train_best(storage, None, study_name="empty", parent_run_id="p", batch={}, experiment_id="0",
                                report_folder="/nowhere", dag_id="d", dag_run_id="r")
