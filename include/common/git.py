"""Plain Git over the ``git`` command line: validated inputs, exact revisions, safe pushes.

Every family uses this one module: CI/CD checks out the app at a commit, GitOps renders the
manifests repo at a revision, and the links write image tags and model versions back to it.
Refs and URLs are checked here before they reach ``git``; nothing goes through a shell.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from include.common.errors import InputError

_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")
_URL_RE = re.compile(r"^(file://|https://|http://|ssh://|git@[A-Za-z0-9.-]+:|/)[A-Za-z0-9._~:/@%+=-]+$")
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "airflow-delivery",
    "GIT_AUTHOR_EMAIL": "airflow-delivery@localhost",
    "GIT_COMMITTER_NAME": "airflow-delivery",
    "GIT_COMMITTER_EMAIL": "airflow-delivery@localhost",
}


class GitError(RuntimeError):
    """A git command failed; the message carries the command and git's stderr."""


@dataclass(frozen=True)
class Checkout:
    path: Path
    sha: str
    ref: str
    url: str


def validate_ref(ref: str, what: str = "ref") -> str:
    """Return ``ref`` if it is a plain branch, tag or commit name, else raise InputError."""
    if not isinstance(ref, str) or not _REF_RE.match(ref) or ".." in ref or ref.endswith((".lock", "/", ".")):
        raise InputError(
            what,
            f"{ref!r} is not a valid Git branch, tag or commit SHA (letters, digits, '.', '_', '/', '-'; "
            "no spaces, no '..', no shell characters)",
            "give a branch such as 'main', a tag such as 'v1.2.0' or a commit SHA",
        )
    return ref


def validate_repo_url(url: str, what: str = "repo") -> str:
    """Return ``url`` if it is a file://, http(s)://, ssh:// or scp-style Git URL or an absolute path."""
    if not isinstance(url, str) or not _URL_RE.match(url):
        raise InputError(
            what,
            f"{url!r} is not a Git URL this project accepts",
            "use file:///path/to/repo.git, https://host/org/repo.git, ssh://host/repo.git or an absolute path",
        )
    return url


def run_git(args: list[str], cwd: str | Path | None = None, timeout: float = 300) -> str:
    """Run ``git <args>`` and return stdout; raise GitError with stderr on failure."""
    env = {**os.environ, **GIT_ENV}
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise GitError(f"git {' '.join(args)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def resolve(url: str, ref: str) -> str:
    """The commit SHA that ``ref`` names in the repo at ``url``, without cloning it."""
    validate_repo_url(url)
    validate_ref(ref)
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return ref
    out = run_git(["ls-remote", "--", url, ref, f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}"])
    lines = [line.split("\t") for line in out.splitlines() if line]
    if not lines:
        raise InputError("ref", f"{ref!r} does not exist in {url}", "push the branch or tag first, or pick one that exists")
    peeled = [sha for sha, name in lines if name.endswith("^{}")]
    return peeled[0] if peeled else lines[0][0]


def checkout(url: str, ref: str, dest: str | Path) -> Checkout:
    """Clone ``url`` into ``dest`` and check out ``ref`` (branch, tag or SHA) detached."""
    validate_repo_url(url)
    validate_ref(ref)
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    try:
        run_git(["clone", "--quiet", "--no-checkout", "--", url, str(dest)])
    except GitError as exc:
        raise InputError("repo", f"cannot clone {url}: {exc}", "check that the repository exists and is readable") from exc
    for candidate in (f"origin/{ref}", ref):
        try:
            sha = run_git(["rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], cwd=dest)
            break
        except GitError:
            continue
    else:
        raise InputError("ref", f"{ref!r} does not exist in {url}", "push the branch or tag first, or pick one that exists")
    run_git(["checkout", "--quiet", "--detach", sha], cwd=dest)
    return Checkout(path=dest, sha=sha, ref=ref, url=url)


def _replace_tree(src: Path, worktree: Path) -> None:
    for child in worktree.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shutil.copytree(src, worktree, dirs_exist_ok=True)


def seed_bare_repo(src_dir: str | Path, bare_path: str | Path, message: str, branch: str = "main") -> str:
    """Make ``bare_path`` a bare repo whose ``branch`` holds exactly ``src_dir``; return the head SHA.

    Idempotent: when the content is unchanged no commit is made.
    """
    bare_path = Path(bare_path)
    if not (bare_path / "HEAD").exists():
        bare_path.mkdir(parents=True, exist_ok=True)
        run_git(["init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare_path)])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        run_git(["clone", "--quiet", "--", str(bare_path), str(work)])
        run_git(["checkout", "--quiet", "-B", branch], cwd=work)
        _replace_tree(Path(src_dir), work)
        run_git(["add", "--all"], cwd=work)
        if run_git(["status", "--porcelain"], cwd=work):
            run_git(["commit", "--quiet", "-m", message], cwd=work)
            run_git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=work)
        return run_git(["rev-parse", "HEAD"], cwd=work)


def commit_files(
    url: str,
    branch: str,
    changes: dict[str, str | None],
    message: str,
    max_attempts: int = 3,
) -> str | None:
    """Write ``changes`` (path -> new text, or None to delete) on ``branch`` and push.

    Returns the new commit SHA, or None when the files already hold that content. A rejected
    push (someone pushed first) is retried on top of the new tip up to ``max_attempts`` times;
    it never force-pushes.
    """
    validate_repo_url(url)
    validate_ref(branch, "branch")
    for attempt in range(1, max_attempts + 1):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "work"
            run_git(["clone", "--quiet", "--branch", branch, "--", url, str(work)])
            for rel, text in changes.items():
                target = (work / rel).resolve()
                if work.resolve() not in target.parents:
                    raise InputError("path", f"{rel!r} points outside the repository", "use a path inside the repo")
                if text is None:
                    target.unlink(missing_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(text)
            run_git(["add", "--all"], cwd=work)
            if not run_git(["status", "--porcelain"], cwd=work):
                return None
            run_git(["commit", "--quiet", "-m", message], cwd=work)
            try:
                run_git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=work)
            except GitError as exc:
                if attempt == max_attempts or "rejected" not in str(exc) and "fetch first" not in str(exc):
                    raise
                continue
            return run_git(["rev-parse", "HEAD"], cwd=work)
    return None
