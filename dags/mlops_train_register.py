"""
### mlops_train_register: validate -> tune -> train -> register -> gate -> promote

Keeps the model sharp when the data changes. Runs when new training data is accepted (Asset
`training_data`), when the drift monitor asks for it (Asset `retrain_requested`), or from the UI / REST API.

1. **snapshot**: content hash, rows and schema of the batch (lineage).
2. **validate**: the Great Expectations suite (`include/mlops/suite.py`). A bad batch fails here, with each
   failed expectation (counts, examples) in the log, `validation.json` and GX's Data Docs (`gx/`) in the
   run's report folder, and a copy in `<state>/quarantine/`. Nothing is tuned, trained or registered.
3. **plan** + **tune**: one Optuna study in RDB storage (connection `optuna_default`, else SQLite); `workers`
   mapped tasks share its trial and time budget (seeded TPE, median pruner over CV folds), a nested MLflow run each.
4. **train_evaluate**: best parameters on the training split, metrics on the held-out split; params, metrics,
   plots, signature, input example, reference statistics and lineage tags go to MLflow (`mlflow_default`, else
   SQLite under the state folder).
5. **register**: new model version with alias `challenger`.
6. **gate**: TFX-style blessing against the current `champion` on the same held-out data
   (absolute `min_metric`, relative `max_regression`); decision and reasons become version tags.
7. **approve** (only with `require_approval`): a human-in-the-loop approval.
8. **promote**: alias `champion` moves; Asset `model_promoted` carries model, version, run ids and data hash.

Reports: `<state>/reports/mlops_train_register/<run_id>/`. Docs: `docs/mlops.md`.
"""

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, dag, task

from delivery.assets import model_promoted, retrain_requested, training_data
from delivery.dag_args import shared_dag_args
from delivery.operators.gx import GXValidateOperator
from delivery.operators.mlflow import CHALLENGER, CHAMPION, MlflowPromoteOperator, MlflowRegisterModelOperator
from delivery.operators.optuna import OptunaTuneOperator
from delivery.operators.training import METRICS

REGISTERED_VERSION = "{{ ti.xcom_pull(task_ids='register')['version'] }}"


@dag(
    schedule=(training_data | retrain_requested),
    doc_md=__doc__,
    tags=["mlops", "training", "mlflow", "optuna", "great-expectations"],
    **shared_dag_args("mlops"),
    params={
        "data_path": Param(None, type=["null", "string"], description="Training batch (CSV or Parquet, with the "
                           "label). Empty: the triggering Asset event's data_path, else the demo training set."),
        "model_name": Param("delivery-classifier", type="string", minLength=1,
                            description="Registered model name in the MLflow Model Registry."),
        "experiment": Param("delivery-classifier", type="string", minLength=1,
                            description="MLflow experiment for the tuning and training runs."),
        "n_trials": Param(8, type="integer", minimum=1, maximum=500,
                          description="Total Optuna trial budget, shared by all workers."),
        "workers": Param(2, type="integer", minimum=1, maximum=16,
                         description="Parallel tuning workers (mapped tasks on one study)."),
        "tuning_timeout": Param(300, type="integer", minimum=10, description="Time budget of the whole Optuna "
                                "study in seconds, shared by the workers (no trial starts after it)."),
        "n_folds": Param(3, type="integer", minimum=2, maximum=10,
                         description="Cross-validation folds per trial (the pruner's steps)."),
        "seed": Param(0, type="integer", description="Seed of the sampler, the folds, the split and the model."),
        "target_metric": Param("roc_auc", type="string", enum=list(METRICS),
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
    def snapshot(**context) -> dict:
        """Resolve the batch file and record its hash, size, rows and schema for lineage."""
        from delivery.operators import training

        return training.snapshot(context)

    @task(multiple_outputs=True)
    def plan(**context) -> dict:
        """Create the Optuna study (budgets fixed once) and the MLflow parent run of the search."""
        from delivery.operators import training

        return training.plan(context)

    @task
    def worker_indexes(params=None) -> list[int]:
        """One index per parallel tuning worker (the mapped tasks' fan-out)."""
        return list(range(params["workers"]))

    @task(multiple_outputs=True)
    def train_evaluate(study_name: str, parent_run_id: str, batch: dict, **context) -> dict:
        """Train the best parameters, evaluate on the held-out split, log everything to MLflow."""
        from delivery.operators import training

        return training.train_evaluate(study_name, parent_run_id, batch, context)

    @task
    def gate(registered: dict, trained_metrics: dict, held_out_path: str, **context) -> dict:
        """Bless or reject the challenger against the champion (absolute + relative thresholds)."""
        from delivery.operators import training

        return training.gate(registered, trained_metrics, held_out_path, context)

    @task.branch
    def route(decision: dict, params=None) -> list[str]:
        """Blessed: promote (through approval when required). Rejected: stop here, champion unchanged."""
        from delivery.operators import training

        return training.route(decision, params["require_approval"])

    snap = snapshot()
    validate = GXValidateOperator(task_id="validate", data_path=snap["path"], require_label=True)
    planned, workers = plan(), worker_indexes()
    tune = OptunaTuneOperator.partial(
        task_id="tune", study_name=planned["study_name"], parent_run_id=planned["parent_run_id"], data_path=snap["path"],
        experiment_name="{{ params.experiment }}", seed="{{ params.seed }}", n_trials="{{ params.n_trials }}",
        tuning_timeout="{{ params.tuning_timeout }}", objective_kwargs={"n_folds": "{{ params.n_folds }}"},
    ).expand(worker=workers)
    trained = train_evaluate(planned["study_name"], planned["parent_run_id"], snap)
    register = MlflowRegisterModelOperator(
        task_id="register", model_uri=trained["model_uri"], run_id=trained["run_id"], name="{{ params.model_name }}",
        alias=CHALLENGER, tags={"delivery.data_sha256": snap["sha256"]},
    )
    decision = gate(register.output, trained["metrics"], trained["held_out_path"])
    routed = route(decision)
    approve = ApprovalOperator(
        task_id="approve", subject="Promote {{ params.model_name }} version " + REGISTERED_VERSION + " to champion?",
        body="Gate: {{ ti.xcom_pull(task_ids='gate')['reasons'] | join('; ') }}", defaults="Reject",
        response_timeout=timedelta(days=1),
    )
    promote = MlflowPromoteOperator(
        task_id="promote", name="{{ params.model_name }}", version=REGISTERED_VERSION, alias=CHAMPION,
        event_extra={"data_sha256": "{{ ti.xcom_pull(task_ids='snapshot', key='sha256') }}",
                     "data_path": "{{ ti.xcom_pull(task_ids='snapshot', key='path') }}"},
        outlets=[model_promoted], trigger_rule="none_failed_min_one_success",
    )

    snap >> validate >> [planned, workers]
    tune >> trained
    routed >> approve >> promote
    routed >> promote


mlops_train_register()
