"""The write-back on a real bare Git repo: checkout, commit, exact revert, refusal after a later
edit, nothing-to-do, and the demo repo is never re-seeded over earlier write-backs."""

from __future__ import annotations

import re

import pytest

from include.common.errors import InputError
from include.common.git import run_git, seed_bare_repo
from include.common.paths import demo_inputs_dir
from include.links import writeback
from include.links.manifests import ModelRef, model_changes
from trailers import parse_trailers

OVERLAY = "apps/shop/overlays/dev"
SERVING = f"{OVERLAY}/model-serving.yaml"
RUN = {"dag_id": "mlops_promote_to_gitops", "dag_run_id": "manual__2026-11-26T10:00:00+00:00"}


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
    ref = ModelRef("m", version, f"models:/m/{version}")
    return writeback.write_back(target, lambda read: model_changes(read, OVERLAY, ref),
                                subject=f"deploy model m v{version}", body="", trace={"model_version": version},
                                unchanged="already there", concurrent="pushed meanwhile", run=RUN)


def test_checkout_reads_the_tip_and_cleans_up(target):
    with writeback.checkout(target["repo_url"], "main") as tip:
        assert tip.sha == run_git(["rev-parse", "main"], cwd=target["repo_url"].removeprefix("file://"))
        assert "kind: Kustomization" in tip.read(f"{OVERLAY}/kustomization.yaml")
        assert tip.read(SERVING) is None
        root = tip.root
    assert not root.exists(), "the temporary checkout is removed"


def test_write_back_commits_with_trailers_and_names_the_sync_run(target):
    before = run_git(["rev-parse", "main"], cwd=target["repo_url"].removeprefix("file://"))
    wrote = write(target, "3")
    assert wrote["parent_sha"] == before and wrote["sha"] != before and show(target, SERVING) is not None
    assert wrote["before"][SERVING] is None and set(wrote["after"]) == set(wrote["before"])
    assert wrote["sync_run_id"] == writeback.sync_run_id(RUN["dag_id"], wrote["sha"], RUN["dag_run_id"])
    message = run_git(["log", "-1", "--format=%B", "main"], cwd=target["repo_url"].removeprefix("file://"))
    assert parse_trailers(message) == {"model_version": "3"}
    with pytest.raises(writeback.NothingToDo, match="already there"):
        write(target, "3")


def test_a_concurrent_push_of_the_same_content_is_nothing_to_do(target):
    with pytest.raises(writeback.NothingToDo, match="pushed meanwhile"):
        writeback.write_back(target, lambda read: {f"{OVERLAY}/kustomization.yaml": read(f"{OVERLAY}/kustomization.yaml")},
                             subject="s", body="", trace={}, unchanged="already there", concurrent="pushed meanwhile",
                             run=RUN)


def test_roll_back_puts_back_exactly_the_files_and_says_why(target):
    original = {p: show(target, p) for p in (f"{OVERLAY}/kustomization.yaml", SERVING)}
    wrote = write(target, "3")
    rolled = writeback.roll_back(wrote, "app 'shop' is Degraded", RUN)
    revert_sha = rolled["revert_commit"]
    assert rolled["sync"]["sha"] == revert_sha, "the rollback syncs its revert commit"
    assert rolled["sync"]["sync_run_id"] == writeback.sync_run_id(RUN["dag_id"], revert_sha, RUN["dag_run_id"] + "revert")
    assert (rolled["reverted"], rolled["reason"]) == (wrote["sha"], "app 'shop' is Degraded")
    assert original[SERVING] is None
    for path, text in original.items():
        assert show(target, path) == text, path
    message = run_git(["log", "-1", "--format=%B", revert_sha], cwd=target["repo_url"].removeprefix("file://"))
    assert message.startswith("Revert deploy model m v3")
    assert f"This reverts commit {wrote['sha']}" in message
    trailers = parse_trailers(message)
    assert trailers["reason"] == "app 'shop' is Degraded" and trailers["reverted_commit"] == wrote["sha"]
    assert writeback.revert(wrote, "again") == (None, revert_sha), \
        "a retried rollback commits nothing and syncs the tip that holds the revert"


def test_revert_refuses_when_the_files_changed_after_us(target):
    wrote = write(target, "3")
    write(target, "4")
    with pytest.raises(RuntimeError, match="revert by hand"):
        writeback.revert(wrote, "late")


def test_an_existing_demo_repo_is_not_reseeded(monkeypatch, tmp_path):
    from include.gitops import demo

    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    first = writeback.manifests_target({})
    wrote = write({**first, "path": OVERLAY}, "5")
    again = writeback.manifests_target({})
    assert again["repo_url"] == first["repo_url"] == f"file://{demo.repo_path()}"
    assert run_git(["rev-parse", "main"], cwd=demo.repo_path()) == wrote["sha"], "the write-back survived"


@pytest.mark.parametrize("params", [{"repo_url": "file:///x; rm -rf /"}, {"branch": "main..x"}, {"path": "../../etc"}])
def test_bad_targets_are_refused(params, target):
    with pytest.raises(InputError):
        writeback.manifests_target({"repo_url": target["repo_url"], **params})


def test_sync_run_id_is_a_valid_airflow_run_id():
    run_id = writeback.sync_run_id("mlops_promote_to_gitops", "a" * 40, "manual__2026-11-26T10:00:00.123+00:00")
    assert re.fullmatch(r"[A-Za-z0-9_.~:+-]+", run_id) and "aaaaaaaaaaaa" in run_id
