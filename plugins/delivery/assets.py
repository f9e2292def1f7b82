"""The Assets that link the three families: one name for one idea, defined once.

    cicd_build_test_scan  --app_image-->        (image write-back)  --manifests_changed-->
    mlops_train_register  --model_promoted-->   (model write-back)  --manifests_changed-->
    gitops_manifest_sync  --cluster_synced-->
    gitops_drift_check    --cluster_drift-->     gitops_manifest_sync (when self-heal is on)
    producers of data     --training_data-->     mlops_train_register
    producers of batches  --production_batch-->  mlops_drift_monitor --retrain_requested--> mlops_train_register

Event ``extra`` carries the trace ids (repo, commit, digest, model version, run ids, report folder).
"""

from __future__ import annotations

from airflow.sdk import Asset

training_data = Asset(name="training_data", uri="delivery://mlops/training-data", group="mlops")
production_batch = Asset(name="production_batch", uri="delivery://mlops/production-batch", group="mlops")
retrain_requested = Asset(name="retrain_requested", uri="delivery://mlops/retrain-requested", group="mlops")
model_promoted = Asset(name="model_promoted", uri="delivery://mlops/model-promoted", group="mlops")
app_image = Asset(name="app_image", uri="delivery://cicd/app-image", group="cicd")
manifests_changed = Asset(name="manifests_changed", uri="delivery://gitops/manifests-changed", group="gitops")
cluster_synced = Asset(name="cluster_synced", uri="delivery://gitops/cluster-synced", group="gitops")
cluster_drift = Asset(name="cluster_drift", uri="delivery://gitops/cluster-drift", group="gitops")
