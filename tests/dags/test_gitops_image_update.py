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
    from fixtures.mlops import asset_events
    from include.common.events import ManifestsChanged
    from trailers import parse_trailers

    conf = {"repo_url": repo["repo_url"], "sync_via": "asset", "image": "127.0.0.1:5000/demo-app",
            "tag": "0a1b2c3d4e5f", "digest": DIGEST, "image_policy": "newest"}
    result = run_dag("gitops_image_update", conf)
    assert result.state == "success", result.task_states
    images = kustomization(repo["repo_url"])["images"]
    assert {"name": "nginx", "newName": "127.0.0.1:5000/demo-app", "newTag": "0a1b2c3d4e5f", "digest": DIGEST} in images
    sha, message = head(repo["repo_url"])
    trailers = parse_trailers(message)
    assert trailers["image_digest"] == DIGEST and trailers["dag_run_id"] == result.run_id
    [event] = asset_events(result.run_id, "manifests_changed")
    announced = ManifestsChanged.from_extra(event["extra"])
    assert (announced.sha, announced.repo_url, announced.path) == (sha, repo["repo_url"], OVERLAY)
    assert announced.trace["image_digest"] == DIGEST

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


# A stand-in for a link DAG: its ``sync`` failed (as a failed gitops_manifest_sync run fails it), so
# ``rollback`` asks why, exactly as the link DAGs' rollback does, through the Task SDK.
PROBE = """
import json
from datetime import datetime

from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])
def links_failure_probe():
    @task(retries=0)
    def sync():
        raise RuntimeError("the triggered sync failed")

    @task(trigger_rule="one_failed", retries=0)
    def rollback(params=None, **context):
        from pathlib import Path

        from delivery.operators.handover import failure_reason

        reason = failure_reason(context, {"sync_run_id": params["sync_run_id"]})
        Path(params["out"]).write_text(json.dumps(reason))

    sync() >> rollback()


links_failure_probe()
"""


def test_the_reason_of_a_failed_sync_is_read_through_airflow(airflow_db, tmp_path):
    """A sync run that fails in fetch: the hand-over reads its step and error from the sync's ``error``
    XCom (``xcom_pull(dag_id=..., run_id=..., task_ids=[...], key="error")``), not from its files."""
    import json

    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    failed = run_dag("gitops_manifest_sync", {"revision": "main; rm -rf /"})
    assert failed.state == "failed" and failed.task_states["fetch"] == "failed", failed.task_states
    (tmp_path / "links_failure_probe.py").write_text(PROBE)
    bag = DagBag(dag_folder=str(tmp_path))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    out = tmp_path / "reason.json"
    probe = bag.dags["links_failure_probe"].test(run_conf={"sync_run_id": failed.run_id, "out": str(out)})
    assert {ti.task_id: str(ti.state) for ti in probe.get_task_instances()}["rollback"].endswith("success")
    reason = json.loads(out.read_text())
    assert reason.startswith(f"gitops_manifest_sync run {failed.run_id} failed in "), reason
    assert "fetch: revision: 'main; rm -rf /' is not a valid Git branch" in reason, reason
