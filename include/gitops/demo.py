"""The demo manifests repo: ``include/demo/manifests`` seeded into a local bare Git repo."""

from __future__ import annotations

from include.common.git import run_git, seed_bare_repo
from include.common.paths import demo_inputs_dir, demo_repo_url, state_dir

DEMO_APP = "shop"
DEMO_PATH = "apps/shop/overlays/dev"
DEMO_NAMESPACE = "shop-dev"


def repo_path():
    return state_dir() / "repos" / "manifests.git"


def seed() -> dict:
    """Seed the demo manifests repo once; return its URL, head and the demo paths.

    An existing repo is left as it is: it holds the write-backs of the links (model versions,
    image tags), and seeding again would revert them. `make clean` starts it afresh.
    """
    bare = repo_path()
    if (bare / "HEAD").exists():
        sha = run_git(["--git-dir", str(bare), "rev-parse", "refs/heads/main"])
    else:
        sha = seed_bare_repo(demo_inputs_dir() / "manifests", bare, "demo manifests")
    return {
        "repo_url": demo_repo_url("manifests"),
        "revision": "main",
        "sha": sha,
        "app": DEMO_APP,
        "path": DEMO_PATH,
        "namespace": DEMO_NAMESPACE,
        "paths": {
            "kustomize_dev": "apps/shop/overlays/dev",
            "kustomize_prod": "apps/shop/overlays/prod",
            "plain": "platform",
            "helm": "charts/greeter",
        },
    }


def plan() -> list[dict]:
    """The demo runs of the GitOps family, in order (read by scripts/run_demo.py).

    Without a cluster each run is plan-only and says so; it still succeeds.
    """
    info = seed()
    common = {"app": DEMO_APP, "repo_url": info["repo_url"], "path": DEMO_PATH, "revision": "main"}
    return [
        {"dag_id": "gitops_manifest_sync", "label": "sync the demo app (Kustomize dev overlay)",
         "conf": {**common, "prune": True, "health_timeout": 60}, "expected": "success"},
        {"dag_id": "gitops_drift_check", "label": "drift check right after the sync (expect Synced)",
         "conf": dict(common), "expected": "success"},
        {"dag_id": "gitops_manifest_sync", "label": "dry-run of the prod overlay (diff only, nothing applied)",
         "conf": {"app": "shop-prod", "repo_url": info["repo_url"], "path": "apps/shop/overlays/prod",
                  "dry_run": True}, "expected": "success"},
    ]
