"""The write-back to the manifests repo: check out, edit, commit, and revert exactly that commit.

One shape for both links (a model version, an image tag/digest): :func:`write_back` checks out
the branch, asks an ``edit`` for the changed files, commits them with the trace ids in the
message (pushed with retries on a rejected push, never forced) and returns what a later
:func:`revert` needs to put back exactly those files. Nothing to change raises
:class:`NothingToDo`: the adapter turns it into a skipped task.
"""

from __future__ import annotations

import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

Reader = Callable[[str], "str | None"]


class NothingToDo(Exception):
    """The manifests already hold the change: nothing to commit and nothing to sync."""


@dataclass(frozen=True)
class Tip:
    """A branch's tip, checked out: its SHA and a reader of its files (None: no such file)."""

    sha: str
    root: Path

    def read(self, rel: str) -> str | None:
        path = self.root / rel
        return path.read_text() if path.is_file() else None


@contextmanager
def checkout(url: str, branch: str) -> Iterator[Tip]:
    """The tip of ``branch`` in a temporary checkout, removed when the block ends."""
    from include.common.git import checkout as git_checkout

    with tempfile.TemporaryDirectory(prefix="links-") as tmp:
        co = git_checkout(url, branch, Path(tmp) / "repo")
        yield Tip(co.sha, co.path)


def manifests_target(params: dict[str, Any]) -> dict[str, str]:
    """The manifests repo, branch, overlay path and app of the write-back, validated.

    An empty ``repo_url`` means the demo manifests repo. It is seeded only when it does not exist
    yet: seeding again would reset the write-backs already committed to it.
    """
    from include.common.git import validate_ref, validate_repo_url
    from include.gitops import demo
    from include.links.manifests import validate_overlay

    url = (params.get("repo_url") or "").strip() or demo.seed()["repo_url"]
    return {
        "repo_url": validate_repo_url(url, "repo_url"),
        "branch": validate_ref(params.get("branch") or "main", "branch"),
        "path": validate_overlay(params.get("path") or demo.DEMO_PATH),
        "app": params.get("app") or demo.DEMO_APP,
    }


def sync_run_id(dag_id: str, sha: str, run_id: str) -> str:
    """A readable, unique run id for the triggered sync: ``links__<dag>__<sha12>__<stamp>``."""
    stamp = re.sub(r"[^0-9A-Za-z]", "", run_id)[-20:]
    return f"links__{dag_id}__{sha[:12]}__{stamp}"


def commit(target: dict, changes: dict[str, str], message: str, read: Reader) -> dict:
    """Commit ``changes`` and return what is needed to revert exactly them later."""
    from include.common.git import commit_files

    before = {path: read(path) for path in changes}
    sha = commit_files(target["repo_url"], target["branch"], changes, message)
    return {"sha": sha, "before": before, "after": changes}


def write_back(target: dict, edit: Callable[[Reader], dict[str, str]], *, subject: str, body: str,
               trace: dict, unchanged: str, concurrent: str, run: dict[str, str]) -> dict:
    """Commit what ``edit`` changes at the branch's tip; the record of the write-back.

    ``unchanged`` / ``concurrent`` say why nothing is committed (:class:`NothingToDo`): the
    files already hold the change, or a concurrent run pushed the same content first. ``run``
    holds this run's ``dag_id`` and ``dag_run_id`` (they name the sync run).
    """
    from include.links.trace import commit_message

    with checkout(target["repo_url"], target["branch"]) as tip:
        changes = edit(tip.read)
        if not changes:
            raise NothingToDo(unchanged)
        done = commit(target, changes, commit_message(subject, body, trace), tip.read)
    if not done["sha"]:
        raise NothingToDo(concurrent)
    return {**target, **done, "subject": subject, "trace": trace, "parent_sha": tip.sha,
            "sync_run_id": sync_run_id(run["dag_id"], done["sha"], run["dag_run_id"])}


def revert(wrote: dict, reason: str) -> tuple[str | None, str]:
    """Put back the files the write-back changed, as a new commit (never a force-push).

    Returns (the revert commit or None when an earlier try already reverted, the commit the
    cluster must be synced to). Refuses when someone changed those files after us: then a
    person must decide.
    """
    from include.common.git import commit_files
    from include.links.trace import commit_message

    with checkout(wrote["repo_url"], wrote["branch"]) as tip:
        if all(tip.read(p) == text for p, text in wrote["before"].items()):
            print(f"{wrote['sha'][:12]} is already reverted at {tip.sha[:12]}")
            return None, tip.sha  # a retried rollback
        moved = [p for p, text in wrote["after"].items() if tip.read(p) != text]
    if moved:
        raise RuntimeError(
            f"cannot revert {wrote['sha'][:12]}: {', '.join(moved)} changed after it (tip {tip.sha[:12]}). "
            "Fix: revert by hand in the manifests repo, then run gitops_manifest_sync"
        )
    message = commit_message(
        f"Revert {wrote['subject']}",
        f"This reverts commit {wrote['sha']}.\n\nWhy: {reason}",
        {**wrote["trace"], "reason": reason, "reverted_commit": wrote["sha"]},
    )
    sha = commit_files(wrote["repo_url"], wrote["branch"], wrote["before"], message)
    return sha, sha or tip.sha


def roll_back(wrote: dict, reason: str, run: dict[str, str]) -> dict:
    """Revert the write-back (:func:`revert`) and name what the rollback's own sync applies.

    ``sync`` is the reverted state of the same app at the commit to sync, with its sync run id.
    """
    revert_sha, sync_sha = revert(wrote, reason)
    sync = {"app": wrote["app"], "repo_url": wrote["repo_url"], "path": wrote["path"], "sha": sync_sha,
            "sync_run_id": sync_run_id(run["dag_id"], sync_sha, run["dag_run_id"] + "revert")}
    return {"reverted": wrote["sha"], "revert_commit": revert_sha, "reason": reason, "sync": sync}
