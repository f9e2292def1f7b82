"""GitOps steps for Airflow, write side: apply, prune and record (TaskFlow callables).

They continue the run's state from :mod:`delivery.operators.gitops`; the logic is in
``include.gitops.sync`` (waves, health gates, prune), ``include.gitops.report`` and
``include.gitops.history``. This module maps its outcomes to Airflow: a Degraded wave and an
apply the API server refused fail at once (``AirflowFailException``, no retry); the record step
emits ``cluster_synced`` and the notifications (``include.gitops.notifications``).
"""

from __future__ import annotations

from typing import Any

from delivery.failures import step
from delivery.operators.gitops import cluster_for, ignore_rules, load_objects, save_state

NOTIFICATIONS_CONN_ID = "gitops_notifications"


def notification_webhooks(conn_id: str = NOTIFICATIONS_CONN_ID) -> list[str]:
    """The webhook URLs of the Airflow connection ``gitops_notifications`` (type http: its URL as
    host, e.g. ``http://chat.example/hooks/x``, and/or extra ``{"urls": [...]}``); none when unset."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - not defined: notifications go to the log and the file only
        return []
    urls = list((conn.extra_dejson or {}).get("urls") or [])
    if conn.host:
        host = conn.host if "://" in conn.host else f"{conn.schema or 'http'}://{conn.host}"
        urls.insert(0, host + (f":{conn.port}" if conn.port and "://" not in conn.host else ""))
    return urls


@step("apply")
def apply(state: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Server-side apply of everything not Synced, wave by wave (each wave may become Healthy
    for ``wave_timeout`` s before the next)."""
    from airflow.sdk.exceptions import AirflowFailException

    from delivery.runs import report_folder
    from include.common.reports import write_report
    from include.gitops import sync
    from include.gitops.apply import ApplyFailed
    from include.gitops.report import sync_record

    cluster, _ = cluster_for(state)
    plan, existing = sync.plan_from_inputs(load_objects(state["desired"]), state)
    respect = ignore_rules(state) if state.get("respect_ignore_differences") else None
    print("plan:\n" + plan.describe())
    folder = report_folder(context)
    try:
        applied = sync.apply_waves(cluster, plan, force=state["force"], existing=existing,
                                   wave_timeout=state["wave_timeout"], respect_ignore=respect, say=print)
    except Exception as exc:
        write_report(folder, "sync.json", sync_record(plan, getattr(exc, "results", []), exc))
        if isinstance(exc, sync.WaveDegraded):
            raise AirflowFailException(str(exc)) from exc
        if isinstance(exc, ApplyFailed) and exc.refused:
            raise AirflowFailException(f"{exc}\nThe API server refused these objects: retrying cannot help.") from exc
        raise
    write_report(folder, "sync.json", sync_record(plan, applied))
    print(f"applied {len(applied)} resource(s); {len(plan.unchanged)} already Synced")
    return save_state(context, {**state, "applied": [r.as_dict() for r in applied], "unchanged": len(plan.unchanged)})


@step("prune")
def prune(state: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Delete (prune=true) or list resources that left Git; protected ones stay."""
    from include.gitops import prune as pruning
    from include.gitops import sync

    cluster, _ = cluster_for(state)
    results = sync.prune_app(cluster, state["app"], load_objects(state["desired"]), enabled=state["prune"],
                             extra_kinds=sync.history_kinds(state["app"], cluster))
    for line in pruning.describe(results, enabled=state["prune"]):
        print(line)
    saved = save_state(context, {**state, "pruned": [r.as_dict() for r in results]})
    failure = pruning.failure_message(results)
    if failure:
        raise RuntimeError(failure)  # after the save: state.json keeps what was (not) deleted
    return saved


@step("record")
def record(**context: Any) -> dict[str, Any]:
    """Record the sync in the app's history (also a failed one); fail the run if the sync failed.

    No retries: it only reads this run's files and appends one history line, and a retry
    would record the same sync twice. Emits ``cluster_synced``.
    """
    from airflow.sdk.exceptions import AirflowException, AirflowSkipException

    from delivery.assets import cluster_synced
    from delivery.runs import report_folder
    from include.common.events import ClusterSynced
    from include.common.reports import read_report
    from include.gitops import history

    from include.gitops.notifications import deliver, notifications_for

    folder = report_folder(context)
    error, state = read_report(folder, "error.json"), read_report(folder, "state.json")
    if state is None:
        if error:
            raise AirflowException(f"sync failed in step {error['step']} before a revision was fetched: {error['error']}")
        raise AirflowSkipException("nothing to record: the run stopped before fetching a revision")
    earlier = history.entries(state["app"])
    entry = history.record(history.entry_for_run(state, health=read_report(folder, "health.json") or {}, error=error,
                                                 run_id=context["run_id"]))
    print(f"history #{entry.id}: {entry.result} {entry.revision[:12]} health={entry.health or '-'}")
    deliver(notifications_for(entry, earlier), webhooks=notification_webhooks())
    if not error and entry.result != "Succeeded":
        print(f"WARNING: {state['app']!r} is {entry.result} (progressing_ok=true keeps the run green); "
              "a rollback never goes back to this revision")
    if error:
        raise AirflowException(f"sync of {state['app']!r} failed in step {error['step']}: {error['error']}")
    extra = ClusterSynced(app=state["app"], sha=state.get("sha", ""), history_id=entry.id, health=entry.health,
                          report_dir=str(folder)).to_extra()
    context["outlet_events"][cluster_synced].extra = extra
    return extra
