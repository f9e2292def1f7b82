"""The hand-over to GitOps shared by the link DAGs: after ``write_back`` committed to the manifests repo.

``sync_via=trigger``: ``sync`` runs ``gitops_manifest_sync`` for exactly that commit (deferred
wait), ``check_health`` checks the sync ran it and the app is healthy, ``rollback`` undoes the
commit when either failed. ``sync_via=asset``: ``announce`` emits ``manifests_changed`` and the
scheduler starts the sync.

Used by ``gitops_image_update`` and ``mlops_promote_to_gitops``; they differ only in what a
rollback undoes. Call it inside the DAG, after defining ``write_back``; parse-light (no heavy
imports at module level).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, task

from delivery.assets import manifests_changed

WRITE_BACK = "ti.xcom_pull(task_ids='write_back')"
HEALTH_STATES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]


def handover_params() -> dict[str, Param]:
    """The params ``sync_and_check`` reads (new Param objects for each DAG that spreads them in)."""
    return {
        "sync_via": Param("trigger", type="string", enum=["trigger", "asset"],
                          description="trigger: run gitops_manifest_sync for the commit and wait for Healthy; "
                                      "asset: emit manifests_changed and let the scheduler sync."),
        "health_timeout": Param(120, type="integer", minimum=0, description="Seconds the sync waits for Healthy."),
        "healthy_states": Param(["Healthy"], type="array", items={"type": "string", "enum": HEALTH_STATES},
                                description="Health results that count as deployed; anything else rolls back."),
        "kubernetes_conn_id": Param("kubernetes_default", type="string",
                                    description="Airflow connection of the cluster, passed to the sync."),
    }


def sync_and_check(wrote: Any, rollback: Any) -> list[Any]:
    """Wire ``wrote >> route >> (sync >> check_health, rollback) | announce``; returns the ends for ``outcome``.

    :param wrote: the ``write_back`` task (its XCom holds app, repo_url, path, sha, sync_run_id).
    :param rollback: the DAG's rollback task (trigger rule ONE_FAILED), run after ``sync`` and ``check_health``.
    """

    @task.branch
    def route(params=None) -> str:
        """sync_via=trigger: sync and check here; asset: announce the commit."""
        return "sync" if params["sync_via"] == "trigger" else "announce"

    @task(outlets=[manifests_changed])
    def announce(**context) -> dict:
        """Emit manifests_changed for the commit (gitops_manifest_sync is scheduled on it)."""
        from delivery.operators import links

        extra = links.asset_extra(context["ti"].xcom_pull(task_ids="write_back"))
        context["outlet_events"][manifests_changed].extra = extra
        return extra

    sync = TriggerDagRunOperator(
        task_id="sync",
        trigger_dag_id="gitops_manifest_sync",
        trigger_run_id="{{ " + WRITE_BACK + "['sync_run_id'] }}",
        conf={
            "app": "{{ " + WRITE_BACK + "['app'] }}",
            "repo_url": "{{ " + WRITE_BACK + "['repo_url'] }}",
            "path": "{{ " + WRITE_BACK + "['path'] }}",
            "revision": "{{ " + WRITE_BACK + "['sha'] }}",
            "health_timeout": "{{ params.health_timeout }}",
            "kubernetes_conn_id": "{{ params.kubernetes_conn_id }}",
        },
        wait_for_completion=True,
        deferrable=True,
        poke_interval=3,
        allowed_states=["success"],
        failed_states=["failed"],
    )

    @task
    def check_health(params=None, **context) -> dict:
        """The sync ran our commit and the app is Healthy (or another state listed in healthy_states)."""
        from delivery.operators import links

        return links.check_sync(context, context["ti"].xcom_pull(task_ids="write_back"), params["healthy_states"])

    checked = check_health()
    announced = announce()
    wrote >> route() >> [sync, announced]
    sync >> checked >> rollback
    sync >> rollback
    return [checked, rollback, announced]
