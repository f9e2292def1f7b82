"""
### GitOps: drift check (read-only)

Every 5 minutes: render the app's manifests at `revision`, compare them with the cluster and
write a report. It changes nothing in the cluster (reads and server-side **dry-run** applies
only).

- `diff.json`: status per resource (Synced / OutOfSync / Missing / Extraneous), the JSON
  pointers that differ and a unified diff (Secret values masked);
- `summary.md`: the same for people;

in `$DELIVERY_STATE/reports/gitops_drift_check/<run_id>/`.

When anything is not Synced it emits the `cluster_drift` Asset (extra: `ClusterDrift` from
include/common/events.py: app, status, repo_url, path, sha, revision, counts, `self_heal`,
report_dir), which triggers `gitops_manifest_sync`; that sync only acts when self-heal is on.
Without a cluster it renders and validates, and says loudly that nothing was compared
(plan-only). See docs/gitops.md.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from delivery.assets import cluster_drift
from delivery.dag_args import shared_dag_args
from delivery.operators import gitops
from delivery.params import app_params, cluster_params, ignore_param, revision_param


@dag(
    schedule=timedelta(minutes=5),
    doc_md=__doc__,
    tags=["gitops", "drift"],
    **shared_dag_args("gitops"),
    params={
        **app_params(),
        **revision_param("Branch, tag or commit SHA that the cluster should match."),
        **cluster_params(),
        "self_heal": Param(False, type="boolean",
                           description="Put self_heal=true in the cluster_drift event, so gitops_manifest_sync repairs the drift."),
        **ignore_param(),
    },
)
def gitops_drift_check():
    # The steps of gitops_manifest_sync up to validate (delivery.operators.gitops), then a read-only diff.
    validated = task(gitops.validate)(task(gitops.fetch_and_render, task_id="render")())
    drift = task(gitops.check_drift)(validated)
    task(gitops.emit_drift, outlets=[cluster_drift])(drift)


gitops_drift_check()
