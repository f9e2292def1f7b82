"""Follow a branch of the manifests repo and say which automated apps a new commit changes.

One :func:`poll` is one look: ``git ls-remote`` for the head; when it moved, a fetch into a
cached bare repo, ``apps.yaml`` at the old and the new head (:mod:`include.gitops.apps`) and the
commits in between, and a ``manifests_changed`` event extra (``ManifestsChanged``) at the new head
for each automated app that needs a sync. The Git watcher trigger
(``delivery.triggers.git_watch``) only repeats it, backs off on errors and yields the events.

- **State**: the last head handled, per (repo, branch), in ``<state>/gitops/watch/<key>.json``;
  a restarted watcher diffs from there, so it neither emits a commit twice nor misses one pushed
  while it was down. With no state yet the current head is the baseline and nothing is emitted.
  The state moves by compare-and-swap under a lock, so of two copies running at once (a
  triggerer and its replacement) only one emits a head.
- **What an app watches**: its folder, the folders and files its ``kustomization.yaml`` pulls in
  from elsewhere in the repo (an overlay's ``../../base``), and its own entry in ``apps.yaml``.
- **Our own write-backs** (commits with a ``Delivery-Dag-Run-Id`` trailer, include/links/trace.py)
  already hand their commit to the sync themselves (a triggered run or their own
  ``manifests_changed`` event). A write-back that edits an app's folder therefore settles every
  earlier change of that app; only changes by others *after* it make the watcher emit.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from include.common.errors import InputError
from include.common.git import GitError, run_git
from include.gitops.apps import APPS_FILE, App, parse_apps

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_LOCAL_REF_KEYS = ("resources", "bases", "components", "patchesStrategicMerge", "crds")


@dataclass(frozen=True)
class Commit:
    """One commit of the range, oldest first: its files and whether a write-back of ours made it."""

    sha: str
    files: tuple[str, ...]
    write_back: bool = False


@dataclass(frozen=True)
class Poll:
    """What one :func:`poll` found: the head, the head before it, the events, a line for the log."""

    head: str
    previous: str | None
    events: list[dict] = field(default_factory=list)
    message: str = ""


def backoff(interval: float, failures: int, cap: float) -> float:
    """Seconds to wait after ``failures`` failed looks in a row: doubling, at most ``cap``."""
    return min(cap, interval * 2 ** max(failures, 0))


def _key(repo_url: str, branch: str) -> str:
    return hashlib.sha256(f"{repo_url}\n{branch}".encode()).hexdigest()[:16]


def watch_dir() -> Path:
    from include.common.paths import state_dir

    folder = state_dir() / "gitops" / "watch"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def state_file(repo_url: str, branch: str) -> Path:
    return watch_dir() / f"{_key(repo_url, branch)}.json"


def last_seen(repo_url: str, branch: str) -> str | None:
    """The head the watcher of (repo, branch) handled last (None: it has not started yet)."""
    path = state_file(repo_url, branch)
    return json.loads(path.read_text()).get("sha") if path.exists() else None


def advance(repo_url: str, branch: str, expected: str | None, new: str) -> bool:
    """Store ``new`` as handled if the stored head is still ``expected``; False if another copy moved it."""
    path = state_file(repo_url, branch)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if last_seen(repo_url, branch) != expected:
            return False
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"repo_url": repo_url, "branch": branch, "sha": new}))
        tmp.replace(path)
    return True


def mirror(repo_url: str, branch: str) -> tuple[Path, str]:
    """Fetch ``branch`` into the cached bare repo of ``repo_url``; (its git dir, the fetched head)."""
    git_dir = watch_dir() / f"{_key(repo_url, branch)}.git"
    if not (git_dir / "HEAD").exists():
        run_git(["init", "--quiet", "--bare", str(git_dir)])
    ref = f"refs/watch/{branch}"
    run_git(["--git-dir", str(git_dir), "fetch", "--quiet", "--no-tags", "--", repo_url, f"+refs/heads/{branch}:{ref}"],
            timeout=120)
    return git_dir, run_git(["--git-dir", str(git_dir), "rev-parse", ref])


def commits(git_dir: Path, old: str, new: str) -> list[Commit]:
    """The commits of ``old..new``, oldest first (merges: their changes against the first parent)."""
    from include.links.trace import trailer_key

    out = run_git(["-c", "core.quotePath=false", "--git-dir", str(git_dir), "log", "--reverse", "--no-renames", "--diff-merges=first-parent",
                   f"--format=%x00%H%x01%(trailers:key={trailer_key('dag_run_id')},valueonly,separator=%x2C)%x01",
                   "--name-only", f"{old}..{new}"])
    found = []
    for chunk in out.split("\x00")[1:]:
        sha, trailer, files = chunk.split("\x01", 2)
        found.append(Commit(sha, tuple(f for f in files.splitlines() if f), write_back=bool(trailer.strip())))
    return found


def _show(git_dir: Path, sha: str, path: str) -> str | None:
    try:
        return run_git(["--git-dir", str(git_dir), "show", f"{sha}:{path}"])
    except GitError:
        return None


@dataclass(frozen=True)
class Tree:
    """The folders and the files of one commit (one ``git ls-tree``)."""

    sha: str
    folders: frozenset[str]
    files: frozenset[str]


def tree(git_dir: Path, sha: str) -> Tree:
    out = run_git(["--git-dir", str(git_dir), "ls-tree", "-r", "-t", "-z", sha])
    entries = [(meta.split(" ")[1], path) for meta, _, path in (e.partition("\t") for e in out.split("\0") if e)]
    return Tree(sha, frozenset(path for kind, path in entries if kind == "tree"),
                frozenset(path for kind, path in entries if kind == "blob"))


def apps_at(git_dir: Path, at: Tree) -> tuple[App, ...]:
    """The apps ``apps.yaml`` declares at the commit (none without the file); InputError names the commit."""
    text = _show(git_dir, at.sha, APPS_FILE) if APPS_FILE in at.files else None
    return parse_apps(text, folders=at.folders, source=f"{APPS_FILE} at {at.sha[:12]}")


def watched(git_dir: Path, at: Tree, path: str) -> set[str]:
    """``path`` and the repo paths its kustomization pulls in (recursively; remote bases are not ours)."""
    seen: set[str] = set()
    todo = [path]
    while todo:
        folder = todo.pop()
        if folder in seen:
            continue
        seen.add(folder)
        name = next((f"{folder}/{n}" for n in KUSTOMIZATION_FILES if f"{folder}/{n}" in at.files), None)
        text = _show(git_dir, at.sha, name) if name else None
        try:
            spec = yaml.safe_load(text) if text else {}
        except yaml.YAMLError:
            spec = None  # the sync's render says what is wrong with it; the folder itself is still watched
        spec = spec if isinstance(spec, dict) else {}
        refs = [r for key in _LOCAL_REF_KEYS for r in spec.get(key) or [] if isinstance(r, str)]
        refs += [p["path"] for p in spec.get("patches") or [] if isinstance(p, dict) and isinstance(p.get("path"), str)]
        for ref in refs:
            target = posixpath.normpath(posixpath.join(folder, ref))
            if "://" in ref or target.startswith("..") or target.startswith(f"{folder}/"):
                continue  # a URL, outside the repo, or already inside the folder
            if target in at.folders:
                todo.append(target)
            else:
                seen.add(target)  # a file elsewhere in the repo (a shared patch)
    return seen


def _touches(files: tuple[str, ...], paths: set[str]) -> list[str]:
    return [f for f in files if any(f == p or f.startswith(f"{p}/") for p in paths)]


def needs_sync(app: App, before: App | None, history: list[Commit], paths: set[str]) -> str:
    """Why ``app`` needs a sync after ``history`` ("" if it does not); ``before``: its entry at the old head."""
    if before != app:
        return "new in apps.yaml" if before is None else "its entry in apps.yaml changed"
    pending: list[str] = []
    for commit in history:
        touched = _touches(commit.files, paths)
        if commit.write_back and _touches(commit.files, {app.path}):
            pending = []  # the write-back syncs this commit itself, and with it everything before
        elif touched:
            pending += touched
    if not pending:
        return ""
    files = sorted(set(pending))
    return "changed: " + ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")


def changes(git_dir: Path, old: str, new: str, branch: str) -> list[tuple[App, str]]:
    """(app, why) for each automated app that ``old..new`` asks to sync, in name order."""
    at = tree(git_dir, new)
    now = [a for a in apps_at(git_dir, at) if a.automated and a.revision == branch]
    try:
        history = commits(git_dir, old, new)
        before = {a.name: a for a in apps_at(git_dir, tree(git_dir, old))}
    except (GitError, InputError):  # old is gone (a force-push) or its apps.yaml was bad: every app may have changed
        return [(a, f"{old[:12]} is not an ancestor any more or unreadable: syncing to be sure") for a in now]
    return [(a, why) for a in now if (why := needs_sync(a, before.get(a.name), history, watched(git_dir, at, a.path)))]


def poll(repo_url: str, branch: str) -> Poll:
    """One look at ``branch`` of ``repo_url``: the ``manifests_changed`` extras for a new head.

    Raises what git raises (the repo is not reachable, the branch does not exist) and InputError
    for a bad ``apps.yaml`` at the new head; the stored head then stays where it was, so the
    commit that fixes it is diffed against the last good one.
    """
    from include.cicd.watch import branch_tip
    from include.common.events import ManifestsChanged

    known = last_seen(repo_url, branch)
    head = branch_tip(repo_url, branch)
    if head == known:
        return Poll(head, known)
    if known is None:
        advance(repo_url, branch, None, head)
        return Poll(head, None, message=f"baseline: following {branch} of {repo_url} from {head[:12]}; nothing to sync yet")
    git_dir, head = mirror(repo_url, branch)
    found = changes(git_dir, known, head, branch)
    if not advance(repo_url, branch, known, head):
        return Poll(head, known, message=f"{head[:12]} was handled by another copy of this watcher")
    events = [ManifestsChanged(app=a.name, repo_url=repo_url, path=a.path, sha=head,
                               trace={"source": "git_watch", "branch": branch, "previous_sha": known, "reason": why},
                               namespace=a.namespace, prune=a.prune, self_heal=a.self_heal).to_extra() for a, why in found]
    synced = "; ".join(f"{a.name} ({why})" for a, why in found) or "no automated app changed"
    return Poll(head, known, events, f"{branch} moved {known[:12]} -> {head[:12]}: {synced}")
