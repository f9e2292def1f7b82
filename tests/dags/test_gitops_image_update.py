"""gitops_image_update end to end with dag.test() on a real bare manifests repo (``sync_via=asset``)."""

from __future__ import annotations

import pytest
import yaml

from dag_runner import run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
OVERLAY = "apps/shop/overlays/dev"
DIGEST = "sha256:" + "c0" * 32


@pytest.fixture(scope="module")
def repo(airflow_db, tmp_path_factory):
    """A fresh bare copy of the demo manifests repo for this module (other tests commit to theirs)."""
    from include.common.git import seed_bare_repo
    from include.common.paths import demo_inputs_dir

    bare = tmp_path_factory.mktemp("repos") / "manifests.git"
    seed_bare_repo(demo_inputs_dir() / "manifests", bare, "demo manifests")
    return {"repo_url": f"file://{bare}", "path": "apps/shop/overlays/dev", "app": "shop"}


def kustomization(repo_url: str) -> dict:
    from include.common.git import run_git

    return yaml.safe_load(run_git(["show", f"main:{OVERLAY}/kustomization.yaml"], cwd=repo_url.removeprefix("file://")))


def head(repo_url: str) -> tuple[str, str]:
    from include.common.git import run_git

    bare = repo_url.removeprefix("file://")
    return run_git(["rev-parse", "main"], cwd=bare), run_git(["log", "-1", "--format=%B", "main"], cwd=bare)


def test_manual_image_goes_into_kustomize_images_once(repo):
    from include.links.trace import parse_trailers

    conf = {"repo_url": repo["repo_url"], "sync_via": "asset", "image": "127.0.0.1:5000/demo-app",
            "tag": "0a1b2c3d4e5f", "digest": DIGEST}
    result = run_dag("gitops_image_update", conf)
    assert result.state == "success", result.task_states
    images = kustomization(repo["repo_url"])["images"]
    assert {"name": "nginx", "newName": "127.0.0.1:5000/demo-app", "newTag": "0a1b2c3d4e5f", "digest": DIGEST} in images
    sha, message = head(repo["repo_url"])
    trailers = parse_trailers(message)
    assert trailers["image_digest"] == DIGEST and trailers["dag_run_id"] == result.run_id

    again = run_dag("gitops_image_update", conf)
    assert again.state == "success"
    assert again.task_states["plan"] == "skipped", "already deployed: nothing to do"
    assert head(repo["repo_url"])[0] == sha


def test_bad_digest_fails_without_a_commit(repo):
    before = head(repo["repo_url"])[0]
    result = run_dag("gitops_image_update", {"repo_url": repo["repo_url"], "sync_via": "asset",
                                             "image": "127.0.0.1:5000/demo-app", "tag": "1.0.0", "digest": "sha256:nope"})
    assert result.state == "failed"
    assert result.task_states["write_back"] == "failed"
    assert head(repo["repo_url"])[0] == before
