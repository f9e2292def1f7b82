"""The hand-over to GitOps shared by the link DAGs: after ``write_back`` committed to the manifests repo.

``sync_via=trigger``: ``sync`` runs ``gitops_manifest_sync`` for exactly that commit (deferred
wait), ``check_health`` checks the sync ran it and the app is healthy, ``rollback`` undoes the
commit when either failed, and ``sync_revert`` + ``check_revert`` sync the revert commit so the
cluster is back on the previous version (a revert only in Git would leave the bad revision
running). ``sync_via=asset``: ``announce`` emits ``manifests_changed`` and the scheduler starts
the sync. ``outcome`` writes the run's report and fails the run when the change did not deploy.

:func:`sync_and_check` is the one shared DAG fragment of ``gitops_image_update`` and
``mlops_promote_to_gitops`` (they differ only in what a rollback undoes). It is a function, not
a ``@task_group``: a group would prefix the task ids (``handover.sync``), and the ids are part
of the REST contract. Its params are ``delivery.params.handover_params()``. The rules (is the
sync result ours and healthy, the reason, the summary) are ``include.links.handover``; this
module reads XComs and task states through Airflow, never another DAG's files.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import task

from delivery.assets import manifests_changed

WRITE_BACK = "ti.xcom_pull(task_ids='write_back')"
REVERT = "ti.xcom_pull(task_ids='rollback')['sync']"


def task_states(context: Any, dag_id: str | None = None, run_id: str | None = None) -> dict[str, str]:
    """{task_id: state} of a DAG run (this one by default), through the Task SDK."""
    ti = context["ti"]
    dag_id, run_id = dag_id or ti.dag_id, run_id or context["run_id"]
    try:
        found = ti.get_task_states(dag_id=dag_id, run_ids=[run_id]) or {}
    except Exception:  # noqa: BLE001 - states only make messages better
        return {}
    states = found.get(run_id, found)
    return {k: str(v) for k, v in states.items()} if isinstance(states, dict) else {}


def check_sync(context: Any, task_id: str, report: str, key: str | None = None) -> dict:
    """Read the triggered sync's result (its ``record`` task's XCom) and demand Synced + healthy.

    The XCom of ``task_id`` (its ``key`` entry) names the commit and the sync run: ``write_back``,
    or ``rollback``'s ``sync`` (the revert). A problem is written to ``report`` and fails the task
    without retries (a retry would read the same result).
    """
    from airflow.sdk.exceptions import AirflowFailException

    from delivery.runs import report_folder
    from include.common.reports import write_report
    from include.links.handover import SYNC_DAG_ID, sync_problem

    ti = context["ti"]
    wrote = ti.xcom_pull(task_ids=task_id)
    wrote = wrote[key] if key else wrote
    result = ti.xcom_pull(dag_id=SYNC_DAG_ID, run_id=wrote["sync_run_id"], task_ids="record")
    error = sync_problem(result, wrote, context["params"]["healthy_states"])
    if error:
        write_report(report_folder(context), report, {"error": error, "result": result})
        raise AirflowFailException(error)
    print(f"{SYNC_DAG_ID} run {wrote['sync_run_id']}: Synced, {result['health']} at {wrote['sha'][:12]}")
    return {**result, "sync_run_id": wrote["sync_run_id"]}


def failure_reason(context: Any, wrote: dict) -> str:
    """Why the sync or the health check failed, for the revert commit and the model tags.

    The sync's own words are the ``error`` XCom its failing step pushed (``delivery.failures.step``).
    """
    from delivery.runs import report_folder
    from include.common.reports import read_report
    from include.links.handover import SYNC_DAG_ID, SYNC_STEPS, failure_reason as reason, first_error

    mine = task_states(context)
    sync_states, sync_error = {}, None
    if mine.get("sync") in ("failed", "upstream_failed"):
        sync_states = task_states(context, SYNC_DAG_ID, wrote["sync_run_id"])
        steps = list(SYNC_STEPS) + sorted(set(sync_states) - set(SYNC_STEPS))
        sync_error = first_error(context["ti"].xcom_pull(dag_id=SYNC_DAG_ID, run_id=wrote["sync_run_id"],
                                                         task_ids=steps, key="error"))
    checked = read_report(report_folder(context), "check_health.json") or {}
    return reason(wrote, mine, sync_states, sync_error, checked.get("error"))


def outcome(context: Any) -> dict:
    """The run's summary (report.json + log); fails the run when the change was rolled back or failed."""
    import json

    from airflow.sdk.exceptions import AirflowFailException

    from delivery.runs import report_folder
    from include.common.reports import write_report
    from include.links.handover import summarize

    pull = context["ti"].xcom_pull
    summary, error = summarize(task_states(context), pull(task_ids="write_back"), pull(task_ids="check_health"),
                               pull(task_ids="rollback"), pull(task_ids="check_revert"))
    path = write_report(report_folder(context), "report.json", summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "tasks"}, indent=2, default=str))
    print(f"report: {path}")
    if error:
        raise AirflowFailException(error)
    return summary


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
        from delivery.operators.handover import emit_manifests_changed

        return emit_manifests_changed(context)

    @task
    def check_health(**context) -> dict:
        """The sync ran our commit and the app is Healthy (or another state listed in healthy_states)."""
        from delivery.operators.handover import check_sync

        return check_sync(context, "write_back", report="check_health.json")

    @task
    def check_revert(**context) -> dict:
        """The revert commit is synced and the app is healthy again on the previous version."""
        from delivery.operators.handover import check_sync

        return check_sync(context, "rollback", report="check_revert.json", key="sync")

    sync, sync_revert = _sync("sync", WRITE_BACK), _sync("sync_revert", REVERT)
    checked, announced, restored = check_health(), announce(), check_revert()
    wrote >> route() >> [sync, announced]
    sync >> checked >> rollback
    sync >> rollback
    rollback >> sync_revert >> restored
    return [checked, rollback, restored, announced]


def emit_manifests_changed(context: Any) -> dict:
    """Set the ``manifests_changed`` event of the write-back commit (``ManifestsChanged``)."""
    from include.links.handover import manifests_changed as event_extra

    extra = event_extra(context["ti"].xcom_pull(task_ids="write_back"))
    context["outlet_events"][manifests_changed].extra = extra
    return extra
