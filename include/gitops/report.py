"""The reports a sync or a drift check leaves in its run's report folder, and the drift event.

    diff.json    status per resource (Synced / OutOfSync / Missing / Extraneous), JSON pointers,
                 unified diffs (Secret values masked); or, plan-only, the plan
    summary.md   the same for people
    sync.json    the plan and what was applied (and the error, when the apply failed)

``state`` is the run's state (``state.json``): app, repo_url, path, revision, sha, cluster_mode,
cluster_message, self_heal, report_dir.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from include.common.events import ClusterDrift
from include.common.reports import write_report
from include.gitops.results import ResourceResult
from include.gitops.diff import AppDiff
from include.gitops.plan import SyncPlan, build_plan


def diff_report(state: Mapping[str, Any], desired: list[dict[str, Any]], diff: AppDiff | None) -> tuple[dict[str, Any], str]:
    """(diff.json, summary.md) of a diff; ``diff`` None: plan-only (no cluster), the plan instead."""
    header = (f"# {state['app']} at {state.get('sha', '')[:12]} ({state['revision']})\n\n"
              f"- repo: {state['repo_url']}\n- path: {state['path']}\n- cluster: {state.get('cluster_message', '')}\n")
    if diff is None:
        plan = build_plan(desired)
        report = {"app": state["app"], "status": "Unknown", "mode": "plan-only", "message": state.get("cluster_message", ""),
                  "plan": plan.as_dict(), "plan_text": plan.describe(), "resources": []}
        text = (header + "\n**PLAN-ONLY: nothing was compared against a cluster.** " + report["message"]
                + "\n\nWhat a sync would apply, in order:\n\n```\n" + report["plan_text"] + "\n```\n")
    else:
        report = {**diff.as_dict(), "mode": state.get("cluster_mode", "")}
        parts = [header, "```\n" + diff.summary() + "\n```\n"]
        parts += [f"## {r.status.value}: {r.key.display}\n\n{r.message}\n\n```diff\n{r.diff}\n```\n"
                  for r in diff.resources if r.diff]
        text = "\n".join(parts)
    report.update(revision=state["revision"], sha=state.get("sha", ""), repo_url=state["repo_url"], path=state["path"],
                  checked_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return report, text


def write_diff_report(folder: Path, state: Mapping[str, Any], desired: list[dict[str, Any]],
                      diff: AppDiff | None) -> tuple[dict[str, Any], str]:
    """Write diff.json and summary.md into ``folder``; return both."""
    report, text = diff_report(state, desired, diff)
    write_report(folder, "diff.json", report)
    write_report(folder, "summary.md", text)
    return report, text


def sync_record(plan: SyncPlan, applied: list[ResourceResult], error: BaseException | None = None) -> dict[str, Any]:
    """sync.json: the plan, what was applied and, when the apply stopped, why."""
    record: dict[str, Any] = {"plan": plan.as_dict(), "applied": [r.as_dict() for r in applied]}
    if error is not None:
        record["error"] = str(error)
    return record


def drift_result(state: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    """The drift check's result: the ``cluster_drift`` event's extra, plus ``out_of_sync`` (the
    resources not Synced, for the log; not part of the event)."""
    event = ClusterDrift(app=state["app"], status=report["status"], repo_url=state["repo_url"], path=state["path"],
                         sha=state.get("sha", ""), self_heal=state["self_heal"], revision=state["revision"],
                         counts=report.get("counts", {}), report_dir=state["report_dir"])
    return {**event.to_extra(), "out_of_sync": [r["resource"] for r in report.get("resources", []) if r["status"] != "Synced"]}
