"""
### GitOps: sync manifests from Git to the cluster

Makes the cluster equal to Git for one app, the way Argo CD does, as an Airflow DAG:

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
manifests repo) and `cluster_drift` (from `gitops_drift_check`; only acts with self-heal on).
One run at a time (`max_active_runs=1`); emits `cluster_synced`; reports in `reports/gitops_manifest_sync/<run_id>/`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, TriggerRule, dag, task

from delivery.assets import cluster_drift, cluster_synced, manifests_changed
from delivery.operators.gitops import GitOpsHealthOperator


@dag(
    schedule=(manifests_changed | cluster_drift),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["gitops", "sync"],
    default_args={"owner": "gitops", "retries": 2, "retry_delay": timedelta(seconds=10)},
    params={
        "app": Param("shop", type="string", pattern="^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                     description="App name: our ownership label app.delivery.io/name=<app> and the history key."),
        "repo_url": Param(None, type=["null", "string"],
                          description="Manifests Git repo (file://, https://, ssh://). Empty: the demo repo, seeded on demand."),
        "path": Param("apps/shop/overlays/dev", type="string",
                      description="Folder in the repo: a Kustomize overlay, a Helm chart or plain YAML."),
        "revision": Param("main", type="string", description="Branch, tag or commit SHA to sync (resolved to an exact SHA)."),
        "namespace": Param("default", type="string", description="Namespace for namespaced objects that do not name one."),
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
        "ignore_differences": Param([], type="array",
                                    description='ignoreDifferences rules, e.g. [{"group": "apps", "kind": "Deployment", '
                                                '"jsonPointers": ["/spec/replicas"]}] or managedFieldsManagers.'),
        "kubernetes_conn_id": Param("kubernetes_default", type="string",
                                    description="Airflow connection with the kubeconfig (else KUBECONFIG, else the "
                                                "local control plane, else plan-only). A configured cluster that does "
                                                "not answer fails the run (dry_run: plans only)."),
    },
)
def gitops_manifest_sync():
    @task
    def fetch(params=None, **context) -> dict:
        """Resolve the request (params, Asset event, rollback) and the exact revision."""
        from delivery.operators import gitops

        return gitops.resolve_request(params, context)

    @task
    def render(state: dict, **context) -> dict:
        """Check out the revision and render it (Kustomize / Helm / plain YAML)."""
        from delivery.operators import gitops

        return gitops.render(state, context)

    @task
    def validate(state: dict, **context) -> dict:
        """Validate every object; nothing is applied after a failed validation."""
        from delivery.operators import gitops

        return gitops.validate(state, context)

    @task
    def diff(state: dict, **context) -> dict:
        """Diff against the cluster (server-side dry-run); writes diff.json and summary.md."""
        from delivery.operators import gitops

        return gitops.diff(state, context)

    @task.short_circuit(ignore_downstream_trigger_rules=True)
    def continue_sync(state: dict) -> bool:
        """Stop here on dry_run, or in plan-only mode (no cluster)."""
        from delivery.operators import gitops

        return gitops.should_apply(state)

    @task
    def apply(state: dict, **context) -> dict:
        """Server-side apply of everything not Synced, wave by wave."""
        from delivery.operators import gitops

        return gitops.apply(state, context)

    @task
    def prune(state: dict, **context) -> dict:
        """Delete (prune=true) or list resources that left Git."""
        from delivery.operators import gitops

        return gitops.prune(state, context)

    @task(trigger_rule=TriggerRule.ALL_DONE, outlets=[cluster_synced], retries=0)
    def record(**context) -> dict:
        """Record the sync in the app's history; fail the run if the sync failed.

        No retries: it only reads this run's files and appends one history line, and a retry
        would record the same sync twice.
        """
        from delivery.operators import gitops

        result = gitops.record(context)
        context["outlet_events"][cluster_synced].extra = result
        return result

    fetched = fetch()
    validated = validate(render(fetched))
    diffed = diff(validated)
    applied = apply(diffed)
    pruned = prune(applied)
    health = GitOpsHealthOperator(task_id="wait_for_health", state=pruned, poll_interval=2)
    continue_sync(diffed) >> applied
    health >> record()


gitops_manifest_sync()
