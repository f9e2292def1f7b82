"""The hand-over to GitOps shared by the link DAGs: after ``write_back`` committed to the manifests repo.

``sync_via=trigger``: ``sync`` runs ``gitops_manifest_sync`` for exactly that commit (deferred
wait), ``check_health`` checks the sync ran it and the app is healthy, ``rollback`` undoes the
commit when either failed, and ``sync_revert`` + ``check_revert`` sync the revert commit so the
cluster is back on the previous version (a revert only in Git would leave the bad revision
running). ``sync_via=asset``: ``announce`` emits ``manifests_changed`` and the scheduler starts
the sync.

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
REVERT = "ti.xcom_pull(task_ids='rollback')['sync']"
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


def _sync(task_id: str, commit: str) -> TriggerDagRunOperator:
    """Run ``gitops_manifest_sync`` for the commit that the Jinja expression ``commit`` names
    (a dict with app, repo_url, path, sha, sync_run_id) and wait for it, deferred."""
    return TriggerDagRunOperator(
        task_id=task_id,
        trigger_dag_id="gitops_manifest_sync",
        trigger_run_id="{{ " + commit + "['sync_run_id'] }}",
        conf={
            "app": "{{ " + commit + "['app'] }}",
            "repo_url": "{{ " + commit + "['repo_url'] }}",
            "path": "{{ " + commit + "['path'] }}",
            "revision": "{{ " + commit + "['sha'] }}",
            "health_timeout": "{{ params.health_timeout }}",
            "kubernetes_conn_id": "{{ params.kubernetes_conn_id }}",
        },
        wait_for_completion=True,
        deferrable=True,
        poke_interval=3,
        allowed_states=["success"],
        failed_states=["failed"],
    )


def sync_and_check(wrote: Any, rollback: Any) -> list[Any]:
    """Wire ``wrote >> route >> (sync >> check_health, rollback >> sync_revert >> check_revert) | announce``.

    Returns the ends for ``outcome``.

    :param wrote: the ``write_back`` task (its XCom holds app, repo_url, path, sha, sync_run_id).
    :param rollback: the DAG's rollback task (trigger rule ONE_FAILED), run after ``sync`` and
        ``check_health``; its XCom's ``sync`` names the revert commit and its sync run.
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

    sync = _sync("sync", WRITE_BACK)
    sync_revert = _sync("sync_revert", REVERT)

    @task
    def check_health(params=None, **context) -> dict:
        """The sync ran our commit and the app is Healthy (or another state listed in healthy_states)."""
        from delivery.operators import links

        return links.check_sync(context, context["ti"].xcom_pull(task_ids="write_back"), params["healthy_states"])

    @task
    def check_revert(params=None, **context) -> dict:
        """The revert commit is synced and the app is healthy again on the previous version."""
        from delivery.operators import links

        reverted = context["ti"].xcom_pull(task_ids="rollback")["sync"]
        return links.check_sync(context, reverted, params["healthy_states"], report="check_revert.json")

    checked = check_health()
    announced = announce()
    restored = check_revert()
    wrote >> route() >> [sync, announced]
    sync >> checked >> rollback
    sync >> rollback
    rollback >> sync_revert >> restored
    return [checked, rollback, restored, announced]
