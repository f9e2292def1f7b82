"""
### GitOps: sync manifests from Git to the cluster

Makes the cluster equal to Git for one app, the way Argo CD does, as an Airflow DAG:

**sync window** (an event-started run waits for it, a manual run in a closed window fails) ->
**fetch** the revision (exact commit SHA) -> **render** (plain YAML, Kustomize or Helm) ->
**validate** (required fields, duplicates, kinds, namespaces, server-side dry-run) ->
**diff** (Synced / OutOfSync / Missing / Extraneous; `summary.md` + `diff.json`) ->
*stop here on `dry_run`, or plan-only when no cluster is configured at all* -> **apply** wave
by wave with server-side apply (each wave may become Healthy for `wave_timeout` s before the
next) -> **prune** (only with `prune`; never resources annotated `delivery.io/prune: "false"`;
a failed delete fails the run) -> **wait for health** (deferrable, no worker slot held) ->
**record** the sync in the app's history (`rollback=true` syncs the previous Healthy revision).

Green only when the app ended Healthy: Degraded or not Healthy within `health_timeout` fails
(`progressing_ok`: a warning), as does a configured cluster that does not answer. History says
Succeeded, Failed, Degraded or Progressing; a rollback only picks Succeeded.

Triggered from the UI, the REST API, or the Assets `manifests_changed` (a commit to the
manifests repo: `ManifestsChanged`, synced at its exact `sha`) and `cluster_drift` (from
`gitops_drift_check`; only acts with self-heal on). The newest event wins over the params.
One run at a time (`max_active_runs=1`); emits `cluster_synced` (`ClusterSynced`); reports in `reports/gitops_manifest_sync/<run_id>/`.
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, task

from delivery.assets import cluster_drift, cluster_synced, manifests_changed
from delivery.dag_args import shared_dag_args
from delivery.operators import gitops, gitops_sync
from delivery.operators.gitops_health import GitOpsHealthOperator
from delivery.operators.gitops_window import SyncWindowOperator
from delivery.params import app_params, cluster_params, ignore_param, revision_param


@dag(
    schedule=(manifests_changed | cluster_drift),
    doc_md=__doc__,
    tags=["gitops", "sync"],
    **shared_dag_args("gitops"),
    params={
        **app_params(),
        **revision_param(),
        **cluster_params(),
        "prune": Param(False, type="boolean", description="Delete resources with our label that are no longer in Git."),
        "self_heal": Param(False, type="boolean",
                           description="Act on cluster_drift events (undo manual changes). Manual runs always sync."),
        "dry_run": Param(False, type="boolean", description="Stop after the diff: apply, prune and health are skipped."),
        "force": Param(False, type="boolean",
                       description="Take over fields another field manager owns (server-side apply force)."),
        "health_timeout": Param(120, type="integer", minimum=0,
                                description="Seconds to wait for Healthy. Degraded, or not Healthy by then, fails the run "
                                            "(see progressing_ok). 0: do not wait (only Degraded fails)."),
        "progressing_ok": Param(False, type="boolean",
                                description="Still Progressing at health_timeout is a warning, not a failure. The history "
                                            "then says Progressing, and a rollback never picks that revision."),
        "wave_timeout": Param(30, type="integer", minimum=0,
                              description="Seconds to wait for one sync wave to be Healthy before the next wave "
                                          "(Degraded stops the sync; 0: do not wait)."),
        "rollback": Param(False, type="boolean",
                          description="Sync the revision of the previous sync that ended Healthy (from history) instead of revision."),
        **ignore_param(at_apply=True),
        "sync_windows": Param([], type="array",
                              description='When syncs may change the cluster, as Argo CD\'s sync windows: e.g. [{"kind": "deny", '
                                          '"schedule": "0 22 * * *", "duration": "8h"}] (cron in UTC; kind allow or deny; '
                                          'manual_sync: true lets manual runs through). A run an event started waits for its '
                                          'window; a manual run in a closed window fails.'),
        "override_sync_window": Param(False, type="boolean", description="Sync now, whatever the sync windows say."),
    },
)
def gitops_manifest_sync():
    # Each task is one function of delivery.operators.gitops / gitops_sync; its docstring is the task's doc.
    window = SyncWindowOperator(task_id="sync_window")
    fetched = task(gitops.fetch)()
    window >> fetched
    diffed = task(gitops.diff)(task(gitops.validate)(task(gitops.render)(fetched)))
    applied = task(gitops_sync.apply)(diffed)
    pruned = task(gitops_sync.prune)(applied)
    health = GitOpsHealthOperator(task_id="wait_for_health", state=pruned, poll_interval=2)
    # record runs after failures too (it keeps them in the history) and is never retried (see its doc)
    record = task(gitops_sync.record, trigger_rule=TriggerRule.ALL_DONE, outlets=[cluster_synced], retries=0)
    task.short_circuit(gitops.continue_sync, ignore_downstream_trigger_rules=True)(diffed) >> applied
    health >> record()


gitops_manifest_sync()
