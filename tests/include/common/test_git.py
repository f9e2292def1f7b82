"""include/common/git.py against real local Git repositories."""

from __future__ import annotations

import pytest

from include.common import git
from include.common.errors import InputError


@pytest.fixture()
def source_repo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.txt").write_text("v1\n")
    bare = tmp_path / "repo.git"
    sha1 = git.seed_bare_repo(src, bare, "first")
    (src / "app.txt").write_text("v2\n")
    sha2 = git.seed_bare_repo(src, bare, "second")
    return {"url": f"file://{bare}", "bare": bare, "src": src, "sha1": sha1, "sha2": sha2}


@pytest.mark.parametrize(
    "ref", ["main; rm -rf /", "$(id)", "-upload-pack=x", "a..b", "feature branch", "", "x" * 300, "`id`", "ref|cat"]
)
def test_bad_refs_are_refused_before_git_runs(ref):
    with pytest.raises(InputError) as err:
        git.validate_ref(ref)
    assert "Fix:" in str(err.value) and "ref" in str(err.value)


@pytest.mark.parametrize("ref", ["main", "v1.2.0", "release/2026-11", "0123456789abcdef0123456789abcdef01234567"])
def test_good_refs_pass(ref):
    assert git.validate_ref(ref) == ref


@pytest.mark.parametrize("url", ["--upload-pack=touch /tmp/x", "file:///tmp/a b", "ftp://h/x", "/tmp/x;id", "relative/path"])
def test_bad_urls_are_refused(url):
    with pytest.raises(InputError):
        git.validate_repo_url(url)


def test_seed_is_idempotent(source_repo):
    again = git.seed_bare_repo(source_repo["src"], source_repo["bare"], "no change")
    assert again == source_repo["sha2"]


def test_checkout_exact_commit_and_branch(source_repo, tmp_path):
    old = git.checkout(source_repo["url"], source_repo["sha1"], tmp_path / "old")
    assert old.sha == source_repo["sha1"]
    assert (old.path / "app.txt").read_text() == "v1\n"
    head = git.checkout(source_repo["url"], "main", tmp_path / "head")
    assert head.sha == source_repo["sha2"]
    assert git.resolve(source_repo["url"], "main") == source_repo["sha2"]


def test_checkout_of_missing_ref_or_repo_names_the_input(source_repo, tmp_path):
    with pytest.raises(InputError, match="ref: 'nope' does not exist"):
        git.checkout(source_repo["url"], "nope", tmp_path / "x")
    with pytest.raises(InputError, match="repo: cannot clone"):
        git.checkout(f"file://{tmp_path}/missing.git", "main", tmp_path / "y")


def test_commit_files_writes_and_is_a_no_op_when_unchanged(source_repo):
    sha = git.commit_files(source_repo["url"], "main", {"conf/model.txt": "7\n"}, "set model 7")
    assert sha and sha == git.resolve(source_repo["url"], "main")
    assert git.commit_files(source_repo["url"], "main", {"conf/model.txt": "7\n"}, "again") is None


def test_commit_files_refuses_paths_outside_the_repo(source_repo):
    with pytest.raises(InputError, match="outside the repository"):
        git.commit_files(source_repo["url"], "main", {"../escape.txt": "x"}, "bad")


def test_rejected_push_is_retried_on_the_new_tip_without_force(source_repo, monkeypatch):
    """Someone pushes between our clone and our push: we land on top of their commit."""
    real_run_git = git.run_git
    raced = {"done": False}

    def racing_run_git(args, cwd=None, timeout=300):
        if args[0] == "push" and not raced["done"]:
            raced["done"] = True
            monkeypatch.setattr(git, "run_git", real_run_git)
            git.commit_files(source_repo["url"], "main", {"other.txt": "theirs\n"}, "their commit")
            monkeypatch.setattr(git, "run_git", racing_run_git)
        return real_run_git(args, cwd=cwd, timeout=timeout)

    monkeypatch.setattr(git, "run_git", racing_run_git)
    sha = git.commit_files(source_repo["url"], "main", {"mine.txt": "ours\n"}, "our commit")
    monkeypatch.setattr(git, "run_git", real_run_git)
    log = git.run_git(["log", "--format=%s", "main"], cwd=source_repo["bare"]).splitlines()
    assert raced["done"]
    assert log[:2] == ["our commit", "their commit"]
    assert sha == git.resolve(source_repo["url"], "main")
