"""Many apps in one run (TaskFlow callables of ``gitops_sync_apps``): list, sync each, summarize.

The logic is :mod:`include.gitops.app_sync`; ``sync_app`` runs as a mapped task, one per app, so
apps sync in parallel on the workers, each with its own history, health and settings.
"""

from __future__ import annotations

from typing import Any

from delivery.failures import step


@step("list_apps")
def list_apps(params: dict[str, Any] | None = None, **context: Any) -> list[dict[str, Any]]:
    """The apps ``apps.yaml`` declares at the revision (exact SHA), filtered by ``apps``."""
    from dataclasses import asdict

    from delivery.runs import report_folder
    from include.common.errors import InputError
    from include.common.git import validate_repo_url
    from include.common.paths import state_dir
    from include.common.reports import write_report
    from include.gitops import demo
    from include.gitops.app_sync import declared_apps

    params = params or {}
    repo_url = params.get("repo_url") or demo.seed()["repo_url"]
    validate_repo_url(repo_url, "repo_url")
    folder = report_folder(context)
    sha, apps = declared_apps(repo_url, params.get("revision") or "main",
                              state_dir() / "gitops" / "work" / folder.parent.name / folder.name / "apps")
    wanted = list(params.get("apps") or [])
    unknown = sorted(set(wanted) - {a.name for a in apps})
    if unknown:
        raise InputError("apps", f"{', '.join(unknown)} not declared in apps.yaml at {sha[:12]} "
                                 f"(declared: {', '.join(a.name for a in apps) or 'none'})",
                         "name declared apps, or leave the param empty for all of them")
    chosen = [a for a in apps if not wanted or a.name in wanted]
    if not chosen:  # an empty list, not a skip: summarize tells "listed nothing" from "list_apps failed"
        print(f"apps.yaml at {sha[:12]} in {repo_url} declares no apps: nothing to sync")
    listed = [{**asdict(a), "repo_url": repo_url, "sha": sha} for a in chosen]
    write_report(folder, "apps.json", listed)
    print(f"{len(listed)} app(s) at {sha[:12]}: {', '.join(a['name'] for a in listed)}")
    return listed


@step("sync_app")
def sync_app(app: dict[str, Any], params: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    """Sync one app at the listed SHA and record it in its history (a mapped task).

    A retry syncs again (server-side apply is idempotent) and records another history entry;
    a bad manifest fails at once without retries."""
    from delivery.operators.gitops import cluster_for
    from delivery.runs import report_folder
    from include.common.paths import state_dir
    from include.gitops.app_sync import sync_one
    from include.gitops.apps import App

    params = params or {}
    cluster, hook = cluster_for({"kubernetes_conn_id": params.get("kubernetes_conn_id")})
    if cluster is None:
        print(f"PLAN-ONLY: {hook.choice.message}")
        return {"app": app["name"], "sha": app["sha"], "result": "plan-only", "message": hook.choice.message}
    declared = App(**{k: v for k, v in app.items() if k not in ("repo_url", "sha")})
    folder = report_folder(context)
    work = state_dir() / "gitops" / "work" / folder.parent.name / folder.name / declared.name
    return sync_one(cluster, declared, app["repo_url"], app["sha"], work, health_timeout=float(params.get("health_timeout", 60)),
                    run_id=context["run_id"]).as_dict()


def summarize(apps: list[dict[str, Any]], results: list[dict[str, Any]] | None, **context: Any) -> dict[str, Any]:
    """One line per app; fails the run when any app did not end Succeeded (naming them).

    No cluster configured at all (every app plan-only): skipped, loudly, as the one-app sync's
    plan-only mode stops after the diff. No retries: it only reads the apps' results, and a retry
    would get the same ones."""
    from airflow.sdk.exceptions import AirflowException, AirflowSkipException

    from delivery.runs import report_folder
    from include.common.reports import write_report

    if apps is None:  # summarize runs after failures too: without the list, list_apps failed
        raise AirflowException("list_apps failed, so no app was synced: its log says why")
    done = {r["app"]: r for r in (results or []) if r}
    if done and all(r["result"] == "plan-only" for r in done.values()) and len(done) == len(apps):
        raise AirflowSkipException("PLAN-ONLY: no cluster is configured, so no app was synced. "
                                   + next(iter(done.values()))["message"])
    lines, bad = [], []
    for app in apps:
        got = done.get(app["name"])
        if got and got["result"] != "plan-only":
            lines.append(f"{app['name']:<24} {got['result']:<12} {got['health']:<12} {got['applied']} applied, "
                         f"{got['unchanged']} unchanged, {got['pruned']} pruned, {got['seconds']}s")
        else:
            lines.append(f"{app['name']:<24} {got['result'] if got else 'Failed':<12} see its sync_app task log")
        if not got or got["result"] != "Succeeded":
            bad.append(app["name"])
    print("\n".join(lines))
    summary = {"apps": len(apps), "succeeded": len(apps) - len(bad), "not_succeeded": bad, "results": list(done.values())}
    write_report(report_folder(context), "summary.json", summary)
    if bad:
        raise AirflowException(f"{len(bad)} of {len(apps)} app(s) did not end Succeeded: {', '.join(bad)}")
    return summary
