"""The param sets that several DAGs share, defined once (each call returns new ``Param`` objects).

Spread them into a DAG's ``params``: ``params={**app_params(), **cluster_params(), ...}``. One
name per idea: ``repo_url`` is a Git repo, ``revision`` what to sync (branch, tag or SHA),
``branch`` where a write-back commits (a branch only), ``path`` a folder in the repo.
"""

from __future__ import annotations

from airflow.sdk import Param

APP_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
HEALTH_STATES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"]


def app_params() -> dict[str, Param]:
    """Which app, from which manifests repo and folder."""
    return {
        "app": Param("shop", type="string", pattern=APP_PATTERN,
                     description="GitOps app name: our ownership label app.delivery.io/name=<app> and the history key."),
        "repo_url": Param(None, type=["null", "string"],
                          description="Manifests Git repo (file://, https://, ssh://). Empty: the demo manifests repo, "
                                      "seeded on demand."),
        "path": Param("apps/shop/overlays/dev", type="string",
                      description="Folder in the manifests repo: a Kustomize overlay, a Helm chart or plain YAML."),
    }


def revision_param(description: str = "Branch, tag or commit SHA to sync (resolved to an exact SHA).") -> dict[str, Param]:
    return {"revision": Param("main", type="string", minLength=1, description=description)}


def branch_param() -> dict[str, Param]:
    return {"branch": Param("main", type="string", pattern="^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$",
                            description="Branch of the manifests repo that the write-back commits to (never force-pushed).")}


def cluster_params() -> dict[str, Param]:
    """Which cluster (and the default namespace of objects that name none)."""
    return {
        "namespace": Param("default", type="string", description="Namespace for namespaced objects that do not name one."),
        "kubernetes_conn_id": Param("kubernetes_default", type="string",
                                    description="Airflow connection with the kubeconfig (else KUBECONFIG, else plan-only; "
                                                "make demo / make airflow export the local control plane's KUBECONFIG). "
                                                "A configured cluster that does not answer fails the run (dry_run: plans only)."),
    }


def ignore_param(*, at_apply: bool = False) -> dict[str, Param]:
    """ignoreDifferences rules; ``at_apply`` adds RespectIgnoreDifferences (a sync's option)."""
    params = {"ignore_differences": Param([], type="array",
                                          description='ignoreDifferences rules, e.g. [{"group": "apps", "kind": "Deployment", '
                                                      '"jsonPointers": ["/spec/replicas"]}] or managedFieldsManagers.')}
    if at_apply:
        params["respect_ignore_differences"] = Param(
            False, type="boolean",
            description="Argo CD's RespectIgnoreDifferences: the ignored fields keep their live values at apply too "
                        "(an autoscaler's replicas), instead of being set back to Git's.")
    return params


def handover_params() -> dict[str, Param]:
    """How a write-back hands its commit over to GitOps (read by ``delivery.operators.handover``)."""
    return {
        "sync_via": Param("trigger", type="string", enum=["trigger", "asset"],
                          description="trigger: run gitops_manifest_sync for the commit and wait for Healthy; "
                                      "asset: emit manifests_changed and let the scheduler sync."),
        "health_timeout": Param(120, type="integer", minimum=0, description="Seconds the sync waits for Healthy."),
        "healthy_states": Param(["Healthy"], type="array", items={"type": "string", "enum": HEALTH_STATES},
                                description="Health results that count as deployed; anything else rolls back."),
        "kubernetes_conn_id": cluster_params()["kubernetes_conn_id"],
    }
