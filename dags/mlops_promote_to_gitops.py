"""
### MLOps -> GitOps: deploy the new champion model through the manifests repo

`read_deployed` (the model version the overlay serves now) -> **`wait_for_champion`**
(deferrable sensor: waits in the triggerer, holding no worker slot, until the MLflow alias
`champion` points at another version; polls with `poll_interval` and `backoff`) ->
*`approve`* (human-in-the-loop, with `require_approval` or where the release policy requires it) ->
**`release_check`** (the release policy: gate blessed the version, its training data passed
validation for that exact hash, approval for prod, sync window open; else it fails, naming the
missing evidence, nothing committed) -> **`write_back`** (writes
`MODEL_NAME/VERSION/URI/RUN_ID` into the app's ConfigMap patch and a pod annotation in the
overlay; one commit whose message carries the model version, the MLflow run id, the data hash,
this run id and the release decision's digest, with the decision's in-toto statement in
`.delivery/releases/<app>/`; pushed with retries on a rejected push, never forced) -> **`sync`**
(triggers `gitops_manifest_sync` for exactly that commit and waits, deferred) ->
**`check_health`** (Synced and Healthy) -> on failure **`rollback`** (reverts the commit,
moves `champion` back to the deployed version, and records why on the model version and in
the revert commit) -> **`sync_revert`** + `check_revert` (the revert commit is synced, so the
cluster is Healthy on the previous version again) -> `outcome` (report; fails the run when
rolled back).

With `sync_via=asset` the commit is announced as a `manifests_changed` Asset event instead and
the scheduler starts the sync (no health check, no automatic rollback).

Runs on each `model_promoted` Asset event (from `mlops_train_register`) and on demand.
One run at a time. Reports: `$DELIVERY_STATE/reports/mlops_promote_to_gitops/<run_id>/`.
See docs/links.md.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param, TriggerRule, dag, task

from delivery.assets import model_promoted
from delivery.dag_args import shared_dag_args
from delivery.operators.handover import sync_and_check
from delivery.params import app_params, branch_param, handover_params
from delivery.sensors.mlflow_alias import MlflowAliasChangedSensor


@dag(
    schedule=[model_promoted],
    doc_md=__doc__,
    tags=["mlops", "gitops", "links"],
    **shared_dag_args("mlops"),
    params={
        "model_name": Param("delivery-classifier", type="string", pattern="^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                            description="Registered model in MLflow whose alias is watched."),
        "alias": Param("champion", type="string", pattern="^[a-z][a-z0-9_-]{0,62}$",
                       description="MLflow alias that marks the model to deploy (champion)."),
        "poll_interval": Param(5, type="number", minimum=0.5, maximum=600,
                               description="Seconds between the first MLflow polls while waiting."),
        "backoff": Param(1.5, type="number", minimum=1, maximum=10,
                         description="Factor on the poll interval after each poll (1 = fixed interval)."),
        "max_poll_interval": Param(15, type="number", minimum=0.5, maximum=3600,
                                   description="Upper bound of the poll interval, in seconds."),
        "wait_timeout": Param(3600, type="integer", minimum=1,
                              description="Seconds to wait for a new champion before the sensor fails."),
        "require_approval": Param(False, type="boolean",
                                  description="Ask a person to approve (Airflow HITL) before the manifests change. "
                                              "The release policy asks anyway where it requires approval (prod)."),
        "release_policy": Param(None, type=["null", "string"], description="Release policy file (empty: include/release/"
                                "release_policy.yaml): per environment, the evidence a model needs."),
        "configmap": Param("shop-settings", type="string", description="ConfigMap of the app that gets MODEL_* keys."),
        "deployment": Param("shop-web", type="string",
                            description="Deployment whose pods roll when the model changes (annotation)."),
        "mlflow_conn_id": Param("mlflow_default", type="string", description="Airflow connection of the MLflow store."),
        **app_params(),
        **branch_param(),
        **handover_params(),
    },
)
def mlops_promote_to_gitops():
    @task
    def read_deployed(params=None, **context) -> dict:
        """The model the overlay serves now (the sensor waits for another version); a model_promoted
        event that triggered the run names the model and alias to watch."""
        from delivery.operators import links

        return links.read_deployed_model(params, context)

    wait = MlflowAliasChangedSensor(
        task_id="wait_for_champion",
        model_name="{{ ti.xcom_pull(task_ids='read_deployed')['model_name'] }}",
        alias="{{ ti.xcom_pull(task_ids='read_deployed')['alias'] }}",
        from_version="{{ (ti.xcom_pull(task_ids='read_deployed') or {}).get('version') or '' }}",
        mlflow_conn_id="{{ params.mlflow_conn_id }}",
        poll_interval="{{ params.poll_interval }}",
        backoff="{{ params.backoff }}",
        max_poll_interval="{{ params.max_poll_interval }}",
        wait_timeout="{{ params.wait_timeout }}",
    )

    @task.branch
    def needs_approval(params=None) -> str:
        """Route through the approval step when require_approval is on or the release policy requires it (prod)."""
        from delivery.operators import links

        return "approve" if links.model_needs_approval(params) else "release_check"

    approve = ApprovalOperator(
        task_id="approve",
        subject="Deploy {{ ti.xcom_pull(task_ids='wait_for_champion')['model_name'] }} v{{ ti.xcom_pull(task_ids='wait_for_champion')['version'] }} "
                "to {{ params.path }}?",
        body="The alias `{{ ti.xcom_pull(task_ids='wait_for_champion')['alias'] }}` moved from v{{ ti.xcom_pull(task_ids='wait_for_champion')['previous_version'] "
             "or '-' }} to v{{ ti.xcom_pull(task_ids='wait_for_champion')['version'] }}. Approve to commit it to "
             "{{ params.branch }} of the manifests repo and sync.",
        response_timeout=timedelta(hours=1),
        fail_on_reject=True,
    )

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def release_check(params=None, **context) -> dict:
        """The release policy's decision (evidence checked at its source); blocked: fails, nothing is committed."""
        from delivery.operators import links

        return links.release_model(params, context)

    @task
    def write_back(params=None, **context) -> dict:
        """Write the model into the overlay, commit (trace ids in the message), push; tag the model version."""
        from delivery.operators import links

        return links.write_model(params, context)

    @task(trigger_rule=TriggerRule.ONE_FAILED)
    def rollback(params=None, **context) -> dict:
        """Revert the commit and move the alias back; the reason goes on the model version and the commit."""
        from delivery.operators import links

        return links.rollback_model(params, context)

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def outcome(**context) -> dict:
        """Write report.json; fail the run when the deployment was rolled back or failed."""
        from delivery.operators import handover

        return handover.outcome(context)

    wrote, release = write_back(), release_check()
    read_deployed() >> wait >> needs_approval() >> [approve, release]
    approve >> release >> wrote
    sync_and_check(wrote, rollback()) >> outcome()


mlops_promote_to_gitops()
