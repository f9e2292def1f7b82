"""
### GitOps: drift check (read-only)

Every 5 minutes: render the app's manifests at `revision`, compare them with the cluster and
write a report. It changes nothing in the cluster (reads and server-side **dry-run** applies
only).

- `diff.json`: status per resource (Synced / OutOfSync / Missing / Extraneous), the JSON
  pointers that differ and a unified diff (Secret values masked);
- `summary.md`: the same for people;

in `$DELIVERY_STATE/reports/gitops_drift_check/<run_id>/`.

When anything is not Synced it emits the `cluster_drift` Asset (extra: app, repo, path,
revision, counts, `self_heal`), which triggers `gitops_manifest_sync`; that sync only acts when
self-heal is on. Without a cluster it renders and validates, and says loudly that nothing was
compared (plan-only). See docs/gitops.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

from delivery.assets import cluster_drift


@dag(
    schedule=timedelta(minutes=5),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["gitops", "drift"],
    default_args={"owner": "gitops", "retries": 2, "retry_delay": timedelta(seconds=10)},
    params={
        "app": Param("shop", type="string", pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                     description="App name (our ownership label app.delivery.io/name=<app>)."),
        "repo_url": Param(None, type=["null", "string"], description="Manifests Git repo. Empty: the demo repo, seeded on demand."),
        "path": Param("apps/shop/overlays/dev", type="string", description="Folder in the repo (Kustomize, Helm or plain YAML)."),
        "revision": Param("main", type="string", description="Branch, tag or commit SHA that the cluster should match."),
        "namespace": Param("default", type="string", description="Namespace for namespaced objects that do not name one."),
        "self_heal": Param(False, type="boolean",
                           description="Put self_heal=true in the cluster_drift event, so gitops_manifest_sync repairs the drift."),
        "ignore_differences": Param([], type="array", description="ignoreDifferences rules (same as gitops_manifest_sync)."),
        "kubernetes_conn_id": Param("kubernetes_default", type="string",
                                    description="Airflow connection with the kubeconfig (falls back to KUBECONFIG, "
                                                "the local control plane, then plan-only)."),
    },
)
def gitops_drift_check():
    @task
    def render(params=None, **context) -> dict:
        """Resolve the revision and render the manifests."""
        from delivery.operators import gitops

        state = gitops.resolve_request(params, context)
        return gitops.render(state, context)

    @task
    def validate(state: dict, **context) -> dict:
        """Validate (a broken commit is reported here, not as drift)."""
        from delivery.operators import gitops

        return gitops.validate(state, context)

    @task
    def check_drift(state: dict, **context) -> dict:
        """Compare with the cluster (LIST per kind, local diff, dry-run to confirm); write the report."""
        from delivery.operators import gitops

        report = gitops.write_diff_report(state, context, server_side=False)
        return {"app": state["app"], "status": report["status"], "counts": report.get("counts", {}),
                "repo_url": state["repo_url"], "path": state["path"], "revision": state["revision"],
                "sha": state.get("sha", ""), "self_heal": state["self_heal"], "report_dir": state["report_dir"],
                "out_of_sync": [r["resource"] for r in report.get("resources", []) if r["status"] != "Synced"]}

    @task(outlets=[cluster_drift])
    def emit_drift(result: dict, **context) -> dict:
        """Emit cluster_drift when the app is OutOfSync (skipped when Synced or plan-only)."""
        from airflow.sdk.exceptions import AirflowSkipException

        if result["status"] != "OutOfSync":
            raise AirflowSkipException(f"app {result['app']!r} is {result['status']}: no drift event")
        context["outlet_events"][cluster_drift].extra = {k: v for k, v in result.items() if k != "out_of_sync"}
        print(f"cluster_drift emitted for {result['app']!r}: {result['counts']}")
        return result

    emit_drift(check_drift(validate(render())))


gitops_drift_check()
