"""mlops_promote_to_gitops end to end with dag.test(): a real SQLite MLflow registry and a real
bare manifests repo. ``sync_via=asset`` (dag.test() runs no scheduler, so a triggered sync would
never start; the trigger path runs in tests/e2e/test_flow_rest.py)."""

from __future__ import annotations

import hashlib
import json

import pytest

from dag_runner import run_dag

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
MODEL = "links-dag-model"
OVERLAY = "apps/shop/overlays/dev"


@pytest.fixture(scope="module")
def registry(airflow_db):
    """The embedded MLflow store (what MlflowHook uses with no connection): MODEL with 2 versions."""
    from delivery.hooks.mlflow import MlflowHook
    from release_evidence import register_released

    client = MlflowHook().get_client()
    register_released(client, MODEL, 2)
    client.set_registered_model_alias(MODEL, "champion", "1")
    return client


@pytest.fixture(scope="module")
def repo(airflow_db, tmp_path_factory):
    """A fresh bare copy of the demo manifests repo for this module (other tests commit to theirs)."""
    from include.common.git import seed_bare_repo
    from include.common.paths import demo_inputs_dir

    bare = tmp_path_factory.mktemp("repos") / "manifests.git"
    seed_bare_repo(demo_inputs_dir() / "manifests", bare, "demo manifests")
    return {"repo_url": f"file://{bare}", "path": "apps/shop/overlays/dev", "app": "shop"}


def head(repo_url: str) -> tuple[str, str]:
    from include.common.git import run_git

    bare = repo_url.removeprefix("file://")
    return run_git(["rev-parse", "main"], cwd=bare), run_git(["log", "-1", "--format=%B", "main"], cwd=bare)


def committed_file(repo_url: str, path: str) -> str:
    from include.common.git import run_git

    return run_git(["show", f"main:{path}"], cwd=repo_url.removeprefix("file://"))


def served(repo_url: str) -> dict | None:
    from include.common.git import run_git
    from include.links.manifests import read_model

    bare = repo_url.removeprefix("file://")

    def read(path):
        try:
            return run_git(["show", f"main:{path}"], cwd=bare) + "\n"
        except Exception:
            return None

    return read_model(read, OVERLAY)


def conf(repo, **extra):
    return {"model_name": MODEL, "repo_url": repo["repo_url"], "sync_via": "asset", "poll_interval": 1,
            "max_poll_interval": 1, **extra}


def test_promotion_becomes_a_traced_commit_then_waits_for_the_next_one(registry, repo):
    from trailers import parse_trailers

    result = run_dag("mlops_promote_to_gitops", conf(repo, wait_timeout=60))
    assert result.state == "success", result.task_states
    assert result.task_states["announce"] == "success"
    assert result.task_states["sync"] == "skipped" and result.task_states["rollback"] == "skipped"
    sha, message = head(repo["repo_url"])
    trailers = parse_trailers(message)
    assert trailers["model_version"] == "1" and trailers["dag_run_id"] == result.run_id
    assert trailers["dag_id"] == "mlops_promote_to_gitops"
    assert served(repo["repo_url"])["version"] == "1"
    # the release decision went into the same commit; the file's sha256 is the trailer's digest
    digest = trailers["release_decision"]
    statement = committed_file(repo["repo_url"], f".delivery/releases/shop/{digest.removeprefix('sha256:')}.json")
    assert "sha256:" + hashlib.sha256(statement.encode()).hexdigest() == digest
    assert json.loads(statement)["predicate"]["verdict"] == "allowed"
    assert result.task_states["release_check"] == "success" and result.task_states["approve"] == "skipped"
    tags = registry.get_model_version(MODEL, "1").tags
    assert tags["delivery.manifests_commit"] == sha and tags["delivery.deploy_dag_run_id"] == result.run_id

    # Champion unchanged: the sensor waits, times out, and nothing is committed.
    waited = run_dag("mlops_promote_to_gitops", conf(repo, wait_timeout=3))
    assert waited.state == "failed"
    assert waited.task_states["wait_for_champion"] == "failed"
    assert waited.task_states["write_back"] == "upstream_failed"
    assert head(repo["repo_url"])[0] == sha

    # The next champion: a second commit that names the version it replaces.
    registry.set_registered_model_alias(MODEL, "champion", "2")
    again = run_dag("mlops_promote_to_gitops", conf(repo, wait_timeout=60))
    assert again.state == "success", again.task_states
    sha2, message2 = head(repo["repo_url"])
    assert sha2 != sha
    assert parse_trailers(message2)["previous_version"] == "1"
    assert served(repo["repo_url"])["version"] == "2"


def test_a_version_without_validated_data_is_blocked_before_anything_is_committed(registry, repo):
    from release_evidence import bless, training_run

    run_id = training_run(registry, validated=False)
    version = registry.create_model_version(MODEL, source="file:///tmp/links-model", run_id=run_id).version
    bless(registry, MODEL, version)
    before = head(repo["repo_url"])[0]
    registry.set_registered_model_alias(MODEL, "champion", version)
    try:
        result = run_dag("mlops_promote_to_gitops", conf(repo, wait_timeout=60))
    finally:
        registry.set_registered_model_alias(MODEL, "champion", "2")
    assert result.state == "failed"
    assert result.task_states["release_check"] == "failed"
    assert result.task_states["write_back"] == "upstream_failed"
    assert head(repo["repo_url"])[0] == before
    from include.common.paths import report_dir

    error = json.loads((report_dir("mlops_promote_to_gitops", result.run_id) / "error.json").read_text())
    assert error["step"] == "release_check" and "data_validated: the validation of data" in error["error"]


def test_bad_param_is_refused_before_anything_runs(repo):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="branch"):
        run_dag("mlops_promote_to_gitops", conf(repo, branch="main; rm -rf /"))
