"""Branch watching: the tip of a branch (git ls-remote) and the last SHA handed to the build DAG.

The state is one JSON file per (repo, branch) under ``<state>/cicd/watch/``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from include.common.errors import InputError
from include.common.git import run_git, validate_ref, validate_repo_url
from include.common.paths import state_dir


def _path(repo: str, branch: str) -> Path:
    key = hashlib.sha256(f"{repo}\n{branch}".encode()).hexdigest()[:16]
    folder = state_dir() / "cicd" / "watch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


def ls_remote_args(repo: str, branch: str) -> list[str]:
    validate_repo_url(repo)
    validate_ref(branch, "branch")
    return ["ls-remote", "--", repo, f"refs/heads/{branch}"]


def parse_ls_remote(out: str, repo: str, branch: str) -> str:
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == f"refs/heads/{branch}":
            return sha
    raise InputError("branch", f"{branch!r} does not exist in {repo}", "push the branch or watch one that exists")


def branch_tip(repo: str, branch: str) -> str:
    return parse_ls_remote(run_git(ls_remote_args(repo, branch), timeout=60), repo, branch)


def last_sha(repo: str, branch: str) -> str | None:
    path = _path(repo, branch)
    return json.loads(path.read_text()).get("sha") if path.exists() else None


def record_sha(repo: str, branch: str, sha: str) -> None:
    path = _path(repo, branch)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"repo": repo, "branch": branch, "sha": sha}))
    tmp.replace(path)
