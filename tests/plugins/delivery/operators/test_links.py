"""The links glue on a real bare Git repo: commit, exact revert, refusal after a later edit, and
the demo repo is never re-seeded over earlier write-backs."""

from __future__ import annotations

import re

import pytest

from delivery.operators import links
from include.common.git import run_git, seed_bare_repo
from include.common.paths import demo_inputs_dir
from include.links.manifests import ModelRef, model_changes
from include.links.trace import commit_message, parse_trailers

OVERLAY = "apps/shop/overlays/dev"


@pytest.fixture
def target(tmp_path):
    bare = tmp_path / "manifests.git"
    seed_bare_repo(demo_inputs_dir() / "manifests", bare, "demo manifests")
    return {"repo_url": f"file://{bare}", "branch": "main", "path": OVERLAY, "app": "shop"}


def show(target, path):
    try:
        return run_git(["show", f"main:{path}"], cwd=target["repo_url"].removeprefix("file://")) + "\n"
    except Exception:
        return None


def write(target, version):
    read, _, tmp = links._reader(target["repo_url"], "main")
    try:
        changes = model_changes(read, OVERLAY, ModelRef("m", version, f"models:/m/{version}"))
        msg = commit_message(f"deploy model m v{version}", "", {"model_version": version})
        done = links.commit(target, changes, msg, read)
    finally:
        tmp.cleanup()
    return {**target, **done, "subject": f"deploy model m v{version}", "trace": {"model_version": version}}


def test_revert_puts_back_exactly_the_files_and_says_why(target):
    original = {p: show(target, p) for p in (f"{OVERLAY}/kustomization.yaml", f"{OVERLAY}/model-serving.yaml")}
    wrote = write(target, "3")
    assert show(target, f"{OVERLAY}/model-serving.yaml") is not None
    revert_sha, sync_sha = links.revert(wrote, "app 'shop' is Degraded", wrote["trace"])
    assert sync_sha == revert_sha, "the rollback syncs its revert commit"
    assert original[f"{OVERLAY}/model-serving.yaml"] is None
    for path, text in original.items():
        assert show(target, path) == text, path
    message = run_git(["log", "-1", "--format=%B", revert_sha], cwd=target["repo_url"].removeprefix("file://"))
    assert message.startswith('Revert deploy model m v3')
    assert f"This reverts commit {wrote['sha']}" in message
    trailers = parse_trailers(message)
    assert trailers["reason"] == "app 'shop' is Degraded" and trailers["reverted_commit"] == wrote["sha"]
    assert links.revert(wrote, "again", wrote["trace"]) == (None, revert_sha), \
        "a retried rollback commits nothing and syncs the tip that holds the revert"


def test_revert_refuses_when_the_files_changed_after_us(target):
    wrote = write(target, "3")
    write(target, "4")
    with pytest.raises(RuntimeError, match="revert by hand"):
        links.revert(wrote, "late", wrote["trace"])


def test_an_existing_demo_repo_is_not_reseeded(monkeypatch, tmp_path):
    from include.gitops import demo

    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    first = links.manifests_target({})
    wrote = write({**first, "path": OVERLAY}, "5")
    again = links.manifests_target({})
    assert again["repo_url"] == first["repo_url"] == f"file://{demo.repo_path()}"
    assert run_git(["rev-parse", "main"], cwd=demo.repo_path()) == wrote["sha"], "the write-back survived"


@pytest.mark.parametrize("params", [{"repo_url": "file:///x; rm -rf /"}, {"branch": "main..x"}, {"path": "../../etc"}])
def test_bad_targets_are_refused(params, target):
    from include.common.errors import InputError

    with pytest.raises(InputError):
        links.manifests_target({"repo_url": target["repo_url"], **params})


def test_sync_run_id_is_a_valid_airflow_run_id():
    run_id = links.sync_run_id("mlops_promote_to_gitops", "a" * 40, "manual__2026-11-26T10:00:00.123+00:00")
    assert re.fullmatch(r"[A-Za-z0-9_.~:+-]+", run_id) and "aaaaaaaaaaaa" in run_id


def test_asset_extra_has_what_gitops_manifest_sync_reads():
    extra = links.asset_extra({"repo_url": "file:///r.git", "path": OVERLAY, "app": "shop", "sha": "b" * 40,
                               "trace": {"model_version": "3", "image_digest": ""}})
    assert {k: extra[k] for k in ("repo_url", "path", "app", "commit")} == {
        "repo_url": "file:///r.git", "path": OVERLAY, "app": "shop", "commit": "b" * 40}
    assert extra["model_version"] == "3" and "image_digest" not in extra
