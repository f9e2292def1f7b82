"""The hand-over of a write-back commit to GitOps, as rules on plain data.

Whether the triggered ``gitops_manifest_sync`` run deployed our commit (:func:`sync_problem`),
why a hand-over failed in words (:func:`failure_reason`), the run's summary
(:func:`summarize`) and the ``manifests_changed`` event of ``sync_via=asset``
(:func:`manifests_changed`). The Airflow side reads XComs and task states and passes them in.
"""

from __future__ import annotations

from typing import Any

SYNC_DAG_ID = "gitops_manifest_sync"
# The sync's tasks in pipeline order: the first one that failed says why the sync failed.
SYNC_STEPS = ("fetch", "render", "validate", "diff", "continue_sync", "apply", "prune", "wait_for_health", "record")
FAILED = ("failed", "upstream_failed")


def sync_problem(result: dict | None, wrote: dict, healthy_states: list[str]) -> str | None:
    """What is wrong with the sync's recorded result for ``wrote`` (None: Synced and healthy).

    ``wrote`` names the commit and the sync run (the write-back, or the rollback's revert sync).
    """
    if not result:
        return f"{SYNC_DAG_ID} run {wrote['sync_run_id']} recorded no result: see its logs"
    if result.get("sha") != wrote["sha"]:  # no SHA recorded proves nothing about our commit
        synced = result["sha"][:12] if result.get("sha") else "no recorded commit"
        return f"{SYNC_DAG_ID} synced {synced}, not our commit {wrote['sha'][:12]}"
    health = result.get("health") or "Unknown"
    if health not in healthy_states:
        return (f"app {wrote['app']!r} is {health} after the sync of {wrote['sha'][:12]} "
                f"(needed: {', '.join(healthy_states)}); report: {result.get('report_dir')}")
    return None


def first_error(errors: list[dict | None] | None) -> dict | None:
    """The first recorded ``error`` ({step, error, type}) of the sync's steps, in pipeline order."""
    return next((e for e in errors or [] if e), None)


def failure_reason(wrote: dict, mine: dict[str, str], sync_states: dict[str, str], sync_error: dict | None,
                   check_error: str | None) -> str:
    """Why the sync or the health check failed, in words, for the revert commit and the model tags.

    :param mine: this run's task states; ``sync_states``: the triggered sync run's.
    :param sync_error: the sync's first ``error`` XCom; ``check_error``: the health check's error.
    """
    parts = []
    if mine.get("sync") in FAILED:
        failed = sorted(t for t, s in sync_states.items() if s in FAILED)
        parts.append(f"{SYNC_DAG_ID} run {wrote['sync_run_id']} failed" + (f" in {', '.join(failed)}" if failed else ""))
        if sync_error:
            parts.append(f"{sync_error.get('step')}: {sync_error.get('error')}")
    parts.append(check_error or "")
    return "; ".join(p for p in parts if p) or f"sync or health check failed (tasks: {mine})"


def summarize(states: dict[str, str], wrote: dict | None, checked: dict | None, rolled: dict | None,
              restored: dict | None) -> tuple[dict, str | None]:
    """The run's summary (``report.json``) and, when the run must fail, why."""
    summary: dict[str, Any] = {
        "write_back": wrote and {k: wrote.get(k) for k in ("sha", "subject", "repo_url", "path", "sync_run_id")},
        "sync": checked, "rollback": rolled, "revert_sync": restored, "tasks": states}
    failed = sorted(t for t, st in states.items() if st in FAILED and t != "outcome")
    reason = (rolled or {}).get("reason")
    if rolled and not restored:
        summary["result"] = "rollback not synced"
        reason = (f"{reason}; and the revert did not sync back to Healthy (tasks: {', '.join(failed)}): the cluster "
                  "may still run the bad revision. Fix: see the revert sync's run, then run gitops_manifest_sync")
    elif rolled:
        summary["result"] = "rolled back"
    elif checked:
        summary["result"] = "deployed"
    elif wrote and states.get("announce") == "success":
        summary["result"] = "committed; sync left to the manifests_changed Asset"
    elif failed or wrote:
        summary["result"] = "failed"
    else:
        summary["result"] = "nothing to deploy"
    summary["failed_tasks"] = failed
    if summary["result"] not in ("rolled back", "rollback not synced", "failed"):
        return summary, None
    return summary, f"{summary['result']}: {reason or 'failed tasks: ' + (', '.join(failed) or 'see the logs')}"


def manifests_changed(wrote: dict) -> dict:
    """The ``manifests_changed`` event extra of a write-back: what ``gitops_manifest_sync`` syncs."""
    from include.common.events import ManifestsChanged

    trace = {k: v for k, v in wrote["trace"].items() if v}
    return ManifestsChanged(app=wrote["app"], repo_url=wrote["repo_url"], path=wrote["path"], sha=wrote["sha"],
                            trace=trace).to_extra()
