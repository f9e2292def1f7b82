"""The Assets that link the three families: one name for one idea, defined once.

    cicd_build_test_scan  --app_image-->        (image write-back)  --manifests_changed-->
    mlops_train_register  --model_promoted-->   (model write-back)  --manifests_changed-->
    gitops_manifest_sync  --cluster_synced-->
    gitops_drift_check    --cluster_drift-->     gitops_manifest_sync (when self-heal is on)
    producers of data     --training_data-->     mlops_train_register
    producers of batches  --production_batch-->  mlops_drift_monitor --retrain_requested--> mlops_train_register

Event ``extra`` carries the trace ids (repo, commit, digest, model version, run ids, report folder).

``manifests_changed`` also has a watcher: the Git watcher (``delivery.triggers.git_watch``) follows
the manifests repo (``$DELIVERY_MANIFESTS_REPO``, default the demo manifests repo) and emits it for
a push that changes an app with ``automated: true`` in the repo's ``apps.yaml``. ``cluster_drift``
has the cluster watch (``delivery.triggers.cluster_watch``): a Kubernetes watch on every object with
our app label turns a hand edit into an event within seconds (``DELIVERY_SELF_HEAL=true`` puts
self-heal in its events). Airflow runs both in the triggerer while a DAG scheduled on the Asset is
unpaused.
"""

from __future__ import annotations

import os

from airflow.sdk import Asset, AssetWatcher

from delivery.triggers.cluster_watch import ClusterWatchTrigger
from delivery.triggers.git_watch import GitWatchTrigger


def _git_watcher() -> AssetWatcher:
    """The watcher of the manifests repo; read at parse time, so only the environment, never the network."""
    from include.common.paths import demo_repo_url

    repo_url = os.environ.get("DELIVERY_MANIFESTS_REPO") or demo_repo_url("manifests")
    trigger = GitWatchTrigger(repo_url=repo_url, branch=os.environ.get("DELIVERY_MANIFESTS_BRANCH") or "main",
                              poll_interval=float(os.environ.get("DELIVERY_GIT_WATCH_INTERVAL") or 10))
    return AssetWatcher(name="manifests_git_watch", trigger=trigger)


def _cluster_watcher() -> AssetWatcher:
    """The watch on what our apps own in the cluster of ``kubernetes_default`` (else KUBECONFIG)."""
    self_heal = (os.environ.get("DELIVERY_SELF_HEAL") or "").lower() in ("1", "true", "yes")
    return AssetWatcher(name="cluster_watch", trigger=ClusterWatchTrigger(self_heal=self_heal))


training_data = Asset(name="training_data", uri="delivery://mlops/training-data", group="mlops")
production_batch = Asset(name="production_batch", uri="delivery://mlops/production-batch", group="mlops")
retrain_requested = Asset(name="retrain_requested", uri="delivery://mlops/retrain-requested", group="mlops")
model_promoted = Asset(name="model_promoted", uri="delivery://mlops/model-promoted", group="mlops")
app_image = Asset(name="app_image", uri="delivery://cicd/app-image", group="cicd")
manifests_changed = Asset(name="manifests_changed", uri="delivery://gitops/manifests-changed", group="gitops",
                          watchers=[_git_watcher()])
cluster_synced = Asset(name="cluster_synced", uri="delivery://gitops/cluster-synced", group="gitops")
cluster_drift = Asset(name="cluster_drift", uri="delivery://gitops/cluster-drift", group="gitops",
                      watchers=[_cluster_watcher()])
