"""GitOps steps for Airflow, read side: the TaskFlow callables from the request to the diff.

Each step takes the run's *state* (a small JSON dict that grows as it goes through the DAG:
app, repo, revision, exact SHA, bundle paths, counts) and returns it extended; the logic is
in ``include.gitops``. The DAGs wire these functions with ``task(...)``. Files that people read
go into the run's report folder (``delivery.runs.report_folder``):

    rendered.yaml   what Git rendered to          desired.yaml   what will be applied
    diff.json       machine-readable diff          summary.md     readable summary
    sync.json       plan, applied                  health.json    health per resource
    state.json      the run's state                error.json     the step that failed and why

The write side (apply, prune, record) is :mod:`delivery.operators.gitops_sync`, the deferrable
health wait :mod:`delivery.operators.gitops_health`. Nothing heavy is imported at module
level: DAG files import this module at parse time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from delivery.failures import step


# --------------------------------------------------------------------------- helpers
def save_state(context: Any, state: dict[str, Any]) -> dict[str, Any]:
    from delivery.runs import report_folder
    from include.common.reports import write_report

    write_report(report_folder(context), "state.json", state)
    return state


def hook_for(state: dict[str, Any]):
    """The Kubernetes hook for the cluster the run's params name (connection, kubeconfig)."""
    from delivery.hooks.kubernetes import GitOpsKubernetesHook

    return GitOpsKubernetesHook(
        state.get("kubernetes_conn_id") or GitOpsKubernetesHook.default_conn_name,
        kubeconfig=state.get("kubeconfig") or None,
    )


def cluster_for(state: dict[str, Any]):
    """(Cluster or None, hook): None in plan-only mode.

    A configured cluster that does not answer fails the step (``ClusterUnreachableError``, which
    a retry may fix), except on ``dry_run``: a dry run asked for no change, so it plans only and
    says why.
    """
    hook = hook_for(state)
    if hook.unreachable and state.get("dry_run"):
        print(f"dry_run=true and {hook.choice.message}: planning only")
        return None, hook
    return hook.get_cluster(), hook


def load_objects(path: str) -> list[dict[str, Any]]:
    from include.gitops.render import parse_manifests

    return parse_manifests(Path(path).read_text(), Path(path).name)


def ignore_rules(state: dict[str, Any]):
    from include.gitops.ignore import parse_rules

    return parse_rules(state.get("ignore_differences") or [])


# --------------------------------------------------------------------------- fetch
@step("fetch")
def fetch(params: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    """Resolve the request (params, Asset event, rollback) and the exact revision.

    A run that only ``cluster_drift`` triggered is skipped when self-heal is off.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.runs import asset_events, report_folder
    from include.gitops.request import resolve

    resolution = resolve(params or {}, asset_events(context), report_dir=str(report_folder(context)))
    for note in resolution.notes:
        print(note)
    if resolution.skip:
        raise AirflowSkipException(resolution.skip)
    return save_state(context, resolution.request.as_state())


# --------------------------------------------------------------------------- render
@step("render")
def render(state: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Check out the revision and render it (Kustomize / Helm / plain YAML)."""
    from delivery.runs import report_folder
    from include.common.paths import state_dir
    from include.common.reports import write_report
    from include.gitops.render import dump_manifests, render_revision

    folder = report_folder(context)
    work = state_dir() / "gitops" / "work" / folder.parent.name / folder.name / "checkout"
    rendered = render_revision(state["repo_url"], state["revision"], state["path"], work,
                               release=state["app"], namespace=state["namespace"])
    bundle = write_report(folder, "rendered.yaml", dump_manifests(rendered.objects))
    print(f"rendered {len(rendered.objects)} objects ({rendered.source_type}) from {state['repo_url']} "
          f"{state['path']} at {rendered.sha[:12]} ({state['revision']})")
    return save_state(context, {**state, "sha": rendered.sha, "source_type": rendered.source_type,
                                "rendered": str(bundle), "rendered_count": len(rendered.objects)})


def fetch_and_render(params: dict[str, Any] | None = None, **context: Any) -> dict[str, Any]:
    """Resolve the revision and render the manifests."""
    return render(fetch(params, **context), **context)


# --------------------------------------------------------------------------- validate
@step("validate")
def validate(state: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Validate every object (with the cluster's discovery and a dry-run when connected).

    A broken commit fails here: nothing is applied, and it is not reported as drift.
    """
    from delivery.runs import report_folder
    from include.common.reports import write_report
    from include.gitops import sync
    from include.gitops.render import dump_manifests
    from include.gitops.types import ResourceKey

    cluster, hook = cluster_for(state)
    desired = sync.prepare(load_objects(state["rendered"]), app=state["app"], namespace=state["namespace"],
                           kinds=cluster.kinds() if cluster else {})
    sync.check(desired, cluster)
    path = write_report(report_folder(context), "desired.yaml", dump_manifests(desired))
    mode = hook.choice.mode.value if cluster or hook.plan_only else "plan-only"
    print(f"{len(desired)} objects are valid ({'checked against the cluster: discovery, namespaces, dry-run' if cluster else 'plan-only: offline checks only'})")
    return save_state(context, {**state, "desired": str(path), "cluster_mode": mode, "cluster_message": hook.choice.message,
                                "resources": [str(ResourceKey.of(o)) for o in desired]})


# --------------------------------------------------------------------------- diff
def write_diff(state: dict[str, Any], context: Any, *, server_side: bool):
    """Diff against the cluster (or plan only) and write diff.json + summary.md.

    Returns (report, :class:`include.gitops.sync.DiffResult` or None in plan-only mode)."""
    from delivery.runs import report_folder
    from include.gitops import sync
    from include.gitops.report import write_diff_report

    cluster, _ = cluster_for(state)
    desired = load_objects(state["desired"])
    result = None
    if cluster is not None:
        result = sync.compute_diff(cluster, state["app"], desired, ignore=ignore_rules(state),
                                   extra_kinds=sync.history_kinds(state["app"], cluster), server_side=server_side)
    folder = report_folder(context)
    report, text = write_diff_report(folder, state, desired, result.diff if result else None)
    print(text if len(text) < 20000 else text[:20000] + "\n... (see summary.md)")
    print(f"report: {folder / 'diff.json'} and {folder / 'summary.md'}")
    return report, result


@step("diff")
def diff(state: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Diff against the cluster (server-side dry-run); writes diff.json and summary.md.

    The diff is computed once per sync: apply plans from what it saves (the resources already
    Synced, and those that exist), as Argo CD syncs from its comparison result."""
    from include.gitops import sync

    report, result = write_diff(state, context, server_side=True)
    plan_inputs = sync.plan_inputs(result) if result else {}
    return save_state(context, {**state, "sync_status": report["status"], "counts": report.get("counts", {}), **plan_inputs})


def check_drift(state: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Compare with the cluster (LIST per kind, local diff, dry-run to confirm); write the report."""
    from include.gitops.report import drift_result

    return drift_result(state, write_diff(state, context, server_side=False)[0])


def emit_drift(result: dict[str, Any], **context: Any) -> dict[str, Any]:
    """Emit cluster_drift when the app is OutOfSync (skipped when Synced or plan-only)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.assets import cluster_drift

    if result["status"] != "OutOfSync":
        raise AirflowSkipException(f"app {result['app']!r} is {result['status']}: no drift event")
    # check_drift's result is ClusterDrift(...).to_extra() plus out_of_sync, which stays out of the event
    context["outlet_events"][cluster_drift].extra = {k: v for k, v in result.items() if k != "out_of_sync"}
    print(f"cluster_drift emitted for {result['app']!r}: {result['counts']}")
    return result


# --------------------------------------------------------------------------- gate
def continue_sync(state: dict[str, Any]) -> bool:
    """Stop here on dry_run, or in plan-only mode (no cluster)."""
    if state.get("cluster_mode") == "plan-only":
        print("=" * 78 + "\nPLAN-ONLY: no cluster, so nothing is applied, pruned or health-checked. "
              + state.get("cluster_message", "") + "\n" + "=" * 78)
        return False
    if state.get("dry_run"):
        print(f"dry_run=true: stopping after the diff ({state.get('sync_status')}); nothing was applied.")
        return False
    return True
