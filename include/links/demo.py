"""The demo runs of the link DAGs, after the CI/CD, MLOps and GitOps demos have run.

- ``mlops_promote_to_gitops``: the champion that ``mlops_train_register`` just promoted is
  written into the dev overlay and announced (``sync_via=asset``: under ``dag.test()`` no
  scheduler runs a triggered DAG, so the sync is the next demo run instead);
- ``gitops_image_update``: the image ``cicd_build_test_scan`` pushed (its ``app_image`` event)
  goes into the overlay's ``images:`` (skipped, with the reason, when no image was pushed);
- ``gitops_manifest_sync``: syncs the manifests repo's ``main``, which now holds both commits.

With a running scheduler (``make airflow``) the default ``sync_via=trigger`` runs the sync for
the exact commit, waits for Healthy and rolls back on failure (tests/e2e/test_flow_rest.py).
"""

from __future__ import annotations


def seed() -> dict:
    """The demo manifests repo (seeded only when it does not exist: seeding resets write-backs)."""
    from include.gitops import demo

    seeded = demo.seed()
    return {"repo_url": seeded["repo_url"], "path": seeded["path"], "app": seeded["app"]}


def plan() -> list[dict]:
    repo = seed()
    common = {"repo_url": repo["repo_url"], "path": repo["path"], "app": repo["app"], "sync_via": "asset"}
    return [
        {"dag_id": "mlops_promote_to_gitops", "label": "champion -> manifests commit (trace ids in the message)",
         "conf": {**common, "wait_timeout": 120}, "expect": "success"},
        {"dag_id": "gitops_image_update", "label": "pushed image -> kustomize images: (image_policy newest)",
         "conf": {**common, "image_policy": "newest"}, "expect": "success"},
        {"dag_id": "gitops_manifest_sync", "label": "sync the linked commits to the cluster",
         "conf": {"repo_url": repo["repo_url"], "path": repo["path"], "app": repo["app"], "revision": "main"},
         "expect": "success"},
    ]
