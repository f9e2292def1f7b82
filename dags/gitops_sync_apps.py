"""
### GitOps: sync every app the manifests repo declares, in one run

Reads `apps.yaml` at the root of the manifests repo (apps and ApplicationSet-style `list` and
Git `directories` generators, see docs/gitops.md "Apps as data"), at one exact commit, and syncs
each app as a **mapped task** (dynamic task mapping: the apps sync in parallel on the workers),
each with its own namespace, `prune` setting, history, health and notifications: render ->
validate -> diff -> apply wave by wave -> prune -> wait for health -> record. One app's failure
does not stop the others; the run fails at the end naming every app that did not end Healthy.

Params: `repo_url` (empty: the demo manifests repo), `revision`, `apps` (names; empty: all),
`health_timeout`, `kubernetes_conn_id`. Reports in `reports/gitops_sync_apps/<run_id>/`
(`apps.json`, `summary.json`). With no cluster configured each app is skipped (plan-only).
"""

from __future__ import annotations

from airflow.sdk import Param, TriggerRule, dag, task

from delivery.dag_args import shared_dag_args
from delivery.operators import gitops_apps
from delivery.params import cluster_params, revision_param


@dag(
    schedule=None,
    doc_md=__doc__,
    tags=["gitops", "sync"],
    **shared_dag_args("gitops"),
    params={
        "repo_url": Param(None, type=["null", "string"],
                          description="Manifests Git repo with apps.yaml at its root. Empty: the demo manifests repo."),
        **revision_param("Branch, tag or commit SHA of the manifests repo (every app syncs this one commit)."),
        "apps": Param([], type="array", description="Names of declared apps to sync. Empty: every declared app."),
        "health_timeout": Param(60, type="integer", minimum=0,
                                description="Seconds each app may take to become Healthy; Degraded or not Healthy by then "
                                            "fails that app."),
        **{k: v for k, v in cluster_params().items() if k == "kubernetes_conn_id"},
    },
)
def gitops_sync_apps():
    apps = task(gitops_apps.list_apps)()
    results = task(gitops_apps.sync_app).expand(app=apps)
    task(gitops_apps.summarize, trigger_rule=TriggerRule.ALL_DONE, retries=0)(apps, results)


gitops_sync_apps()
