"""Branch watching: the tip of a branch (git ls-remote) and the last SHA handed to the build DAG.

The state is one JSON file per (repo_url, branch) under ``<state>/cicd/watch/``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from include.cicd.params import app_repo_url
from include.common.errors import InputError
from include.common.git import run_git, validate_ref, validate_repo_url
from include.common.paths import state_dir


def _path(repo_url: str, branch: str) -> Path:
    key = hashlib.sha256(f"{repo_url}\n{branch}".encode()).hexdigest()[:16]
    folder = state_dir() / "cicd" / "watch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


def ls_remote_args(repo_url: str, branch: str) -> list[str]:
    validate_repo_url(repo_url, "repo_url")
    validate_ref(branch, "branch")
    return ["ls-remote", "--", repo_url, f"refs/heads/{branch}"]


def parse_ls_remote(out: str, repo_url: str, branch: str) -> str:
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == f"refs/heads/{branch}":
            return sha
    raise InputError("branch", f"{branch!r} does not exist in {repo_url}", "push the branch or watch one that exists")


def branch_tip(repo_url: str, branch: str) -> str:
    return parse_ls_remote(run_git(ls_remote_args(repo_url, branch), timeout=60), repo_url, branch)


def last_sha(repo_url: str, branch: str) -> str | None:
    path = _path(repo_url, branch)
    return json.loads(path.read_text()).get("sha") if path.exists() else None


def record_sha(repo_url: str, branch: str, sha: str) -> str:
    """Store ``sha`` as handed to the build (empty ``repo_url``: the demo app repo); return it.

    The next watch of the branch then waits for a newer commit.
    """
    repo_url = app_repo_url(repo_url)
    path = _path(repo_url, branch)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"repo_url": repo_url, "branch": branch, "sha": sha}))
    tmp.replace(path)
    return sha
