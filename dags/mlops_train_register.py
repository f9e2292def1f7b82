"""
### mlops_train_register: validate -> tune -> train -> register -> gate -> promote

Keeps the model sharp when the data changes. Runs when new training data is accepted
(Asset `training_data`), when the drift monitor asks for it (Asset `retrain_requested`), or from
the UI / REST API.

1. **snapshot**: content hash, rows and schema of the batch (lineage).
2. **validate**: the Great Expectations suite (`include/mlops/suite.py`). A bad batch fails here,
   with each failed expectation (counts, examples) in the log, `validation.json` and
   `validation.html` in the run's report folder, and a copy in `<state>/quarantine/`.
   Nothing is tuned, trained or registered.
3. **plan** + **tune**: one Optuna study in RDB storage (connection `optuna_default`, else SQLite),
   `workers` mapped tasks share its trial and time budget (seeded TPE, median pruner over CV
   folds); each trial is a nested MLflow run.
4. **train_evaluate**: best parameters on the training split, metrics on the held-out split;
   params, metrics, plots, signature, input example, reference statistics and lineage tags go
   to MLflow (connection `mlflow_default`, else SQLite under the state folder).
5. **register**: new model version with alias `challenger`.
6. **gate**: TFX-style blessing against the current `champion` on the same held-out data
   (absolute `min_metric`, relative `max_regression`); decision and reasons become version tags.
7. **approve** (only with `require_approval`): a human-in-the-loop approval.
8. **promote**: alias `champion` moves; Asset `model_promoted` carries model, version, run ids
   and data hash.

Reports: `<state>/reports/mlops_train_register/<run_id>/`. Docs: `docs/mlops.md`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

from delivery.assets import model_promoted, retrain_requested, training_data
from delivery.operators.gx import GXValidateOperator
from delivery.operators.mlflow import CHALLENGER, CHAMPION, MlflowPromoteOperator, MlflowRegisterModelOperator
from delivery.operators.optuna import OptunaTuneOperator

METRICS = ["roc_auc", "accuracy", "f1", "log_loss"]


@dag(
    schedule=(training_data | retrain_requested),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["mlops", "training", "mlflow", "optuna", "great-expectations"],
    default_args={"owner": "mlops", "retries": 2, "retry_delay": timedelta(seconds=10)},
    params={
        "data_path": Param(None, type=["null", "string"], description="Training batch (CSV or Parquet, with the label). "
                           "Empty: the triggering Asset event's data_path, else the demo training set."),
        "model_name": Param("delivery-classifier", type="string", minLength=1,
                            description="Registered model name in the MLflow Model Registry."),
        "experiment": Param("delivery-classifier", type="string", minLength=1,
                            description="MLflow experiment for the tuning and training runs."),
        "n_trials": Param(8, type="integer", minimum=1, maximum=500,
                          description="Total Optuna trial budget, shared by all workers."),
        "workers": Param(2, type="integer", minimum=1, maximum=16,
                         description="Parallel tuning workers (mapped tasks on one study)."),
        "timeout": Param(300, type="integer", minimum=10,
                         description="Time budget of the whole study in seconds (shared by the workers)."),
        "n_folds": Param(3, type="integer", minimum=2, maximum=10,
                         description="Cross-validation folds per trial (the pruner's steps)."),
        "seed": Param(0, type="integer", description="Seed of the sampler, the folds, the split and the model."),
        "target_metric": Param("roc_auc", type="string", enum=METRICS,
                               description="Held-out metric the promotion gate compares."),
        "min_metric": Param(0.9, type="number", description="Absolute threshold: the challenger's target metric "
                            "must be at least this (at most, for log_loss)."),
        "max_regression": Param(0.01, type="number", minimum=0, description="Relative threshold: the challenger "
                                "may be worse than the champion by at most this much."),
        "min_improvement": Param(0.0, type="number", minimum=0, description="The challenger must beat the "
                                 "champion by at least this much (0: ties may replace it)."),
        "require_approval": Param(False, type="boolean", description="Wait for a human approval (Airflow "
                                  "human-in-the-loop) before moving the champion alias."),
    },
)
def mlops_train_register():
    @task(multiple_outputs=True)
    def snapshot(params=None, triggering_asset_events=None) -> dict:
        """Resolve the batch file and record its hash, size, rows and schema for lineage."""
        from include.mlops.data import snapshot as take_snapshot
        from include.mlops.demo import default_training_path

        path = params.get("data_path") or ""
        if not path and triggering_asset_events:
            for events in triggering_asset_events.values():
                for event in events:
                    path = (event.extra or {}).get("data_path") or path
        path = path or str(default_training_path())
        info = take_snapshot(path)
        print(f"Batch {info['path']}: sha256 {info['sha256']}, {info['rows']} rows")
        return info

    snap = snapshot()
    validate = GXValidateOperator(task_id="validate", data_path=snap["path"], require_label=True)

    @task(multiple_outputs=True)
    def plan(params=None, run_id=None, dag=None) -> dict:
        """Create the Optuna study (budgets fixed once) and the MLflow parent run of the search."""
        import re

        from delivery.hooks.mlflow import MlflowHook
        from delivery.hooks.optuna import OptunaHook
        from include.mlops import tuning

        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{dag.dag_id}__{run_id}")
        tuning.create_study(OptunaHook().get_storage(), name, trial_budget=params["n_trials"],
                            timeout_s=params["timeout"])
        hook = MlflowHook()
        client = hook.get_client()
        exp_id = hook.ensure_experiment(params["experiment"])
        found = client.search_runs([exp_id], filter_string=f"tags.`delivery.study` = '{name}'", max_results=1)
        parent = found[0] if found else client.create_run(
            exp_id, tags={"mlflow.runName": "hpo", "delivery.study": name, "delivery.dag_run_id": run_id})
        return {"study_name": name, "parent_run_id": parent.info.run_id}

    @task
    def worker_indexes(params=None) -> list[int]:
        """One index per parallel tuning worker (the mapped tasks' fan-out)."""
        return list(range(params["workers"]))

    planned = plan()
    workers = worker_indexes()
    tune = OptunaTuneOperator.partial(
        task_id="tune",
        study_name=planned["study_name"],
        data_path=snap["path"],
        n_trials="{{ params.n_trials }}",
        timeout="{{ params.timeout }}",
        seed="{{ params.seed }}",
        objective_kwargs={"n_folds": "{{ params.n_folds }}"},
        experiment_name="{{ params.experiment }}",
        parent_run_id=planned["parent_run_id"],
    ).expand(worker=workers)

    @task(multiple_outputs=True)
    def train_evaluate(study_name: str, parent_run_id: str, batch: dict, params=None, run_id=None, dag=None) -> dict:
        """Train the best parameters, evaluate on the held-out split, log everything to MLflow."""
        from delivery.hooks.mlflow import MlflowHook
        from delivery.hooks.optuna import OptunaHook
        from include.common.errors import InputError
        from include.common.paths import report_dir
        from include.mlops import steps, tuning

        import optuna

        study = optuna.load_study(study_name=study_name, storage=OptunaHook().get_storage())
        if not any(t.state.name == "COMPLETE" for t in study.trials):
            raise InputError("timeout / n_trials", "no trial completed within the budget",
                             "raise the timeout or n_trials params")
        hook = MlflowHook()
        hook.activate()
        folder = report_dir(dag.dag_id, run_id)
        result = steps.train_and_log(
            data_path=batch["path"], best_params=study.best_params, trials=tuning.trial_rows(study),
            experiment_id=hook.ensure_experiment(params["experiment"]), report_folder=folder,
            lineage={"data_sha256": batch["sha256"], "data_path": batch["path"], "data_rows": batch["rows"],
                     "validation_report": str(folder / "validation.html"), "dag_id": dag.dag_id,
                     "dag_run_id": run_id, "optuna_study": study_name},
            seed=params["seed"], parent_run_id=parent_run_id,
        )
        hook.get_client().set_terminated(parent_run_id)
        print(f"Held-out metrics: {result['metrics']} (run {result['run_id']})")
        return result

    trained = train_evaluate(planned["study_name"], planned["parent_run_id"], snap)

    register = MlflowRegisterModelOperator(
        task_id="register",
        model_uri=trained["model_uri"],
        run_id=trained["run_id"],
        name="{{ params.model_name }}",
        alias=CHALLENGER,
        tags={"delivery.data_sha256": snap["sha256"]},
    )

    @task
    def gate(trained_metrics: dict, held_out_path: str, params=None, ti=None) -> dict:
        """Bless or reject the challenger against the champion (absolute + relative thresholds)."""
        from delivery.hooks.mlflow import MlflowHook
        from include.mlops import steps
        from include.mlops.policy import PromotionPolicy

        registered = ti.xcom_pull(task_ids="register")
        hook = MlflowHook()
        hook.activate()
        policy = PromotionPolicy(metric=params["target_metric"], min_value=params["min_metric"],
                                 max_regression=params["max_regression"], min_improvement=params["min_improvement"])
        decision = steps.gate(hook.get_client(), name=registered["name"], version=registered["version"],
                              challenger_metrics=trained_metrics, held_out_path=held_out_path, policy=policy)
        print(("BLESSED: " if decision["blessed"] else "REJECTED: ") + " | ".join(decision["reasons"]))
        return decision

    decision = gate(trained["metrics"], trained["held_out_path"])

    @task.branch
    def route(decision: dict, params=None) -> list[str]:
        """Blessed: promote (through approval when required). Rejected: stop here, champion unchanged."""
        if not decision["blessed"]:
            print("The challenger was not blessed; the champion stays. Reasons: " + " | ".join(decision["reasons"]))
            return []
        return ["approve"] if params["require_approval"] else ["promote"]

    routed = route(decision)
    approve = ApprovalOperator(
        task_id="approve",
        subject="Promote {{ params.model_name }} version {{ ti.xcom_pull(task_ids='register')['version'] }} "
        "to champion?",
        body="Gate: {{ ti.xcom_pull(task_ids='gate')['reasons'] | join('; ') }}",
        defaults="Reject",
        response_timeout=timedelta(days=1),
    )
    promote = MlflowPromoteOperator(
        task_id="promote",
        name="{{ params.model_name }}",
        version="{{ ti.xcom_pull(task_ids='register')['version'] }}",
        alias=CHAMPION,
        event_extra={"data_sha256": "{{ ti.xcom_pull(task_ids='snapshot', key='sha256') }}",
                     "data_path": "{{ ti.xcom_pull(task_ids='snapshot', key='path') }}"},
        outlets=[model_promoted],
        trigger_rule="none_failed_min_one_success",
    )

    snap >> validate >> [planned, workers]
    tune >> trained
    register >> decision
    routed >> approve >> promote
    routed >> promote


mlops_train_register()
