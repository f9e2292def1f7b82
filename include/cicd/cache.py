"""A content-addressed cache of stage results, so a warm re-run of the same commit is fast.

Only stages whose output is a pure function of (source tree, tool versions, stage config) are
cached: ``sast``, ``secrets``, ``sbom`` and ``build``. ``test`` and ``audit`` always run (tests
may touch the outside world; advisories change every day). The key is the SHA-256 of the stage
name, the Git tree id of the checkout, the scanners' lock hash and the stage's own inputs
(semgrep rules, the app's lock). A hit restores the result and its report files into the new
run's report folder and marks the result ``cached: true``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from include.common.git import run_git
from include.common.paths import state_dir
from include.cicd.proc import tools_venv


def cache_dir() -> Path:
    return state_dir() / "cicd" / "stage-cache"


def _files_digest(path: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(path.rglob("*") if path.is_dir() else [path]):
        if p.is_file():
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def stage_key(stage: str, checkout: Path, extra: list[Path] | None = None) -> str:
    tree = run_git(["rev-parse", "HEAD^{tree}"], cwd=checkout)
    lock = tools_venv() / ".lock-hash"
    parts = [stage, tree, lock.read_text().strip() if lock.exists() else "no-tools-lock"]
    parts += [_files_digest(p) for p in (extra or []) if p.exists()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _report_paths(res: dict) -> list[str]:
    paths = [p for p in (res.get("files") or {}).values() if p]
    if res.get("stage") == "build":
        paths.append("dist")
    return paths


def get(stage: str, key: str, report: Path) -> dict | None:
    entry = cache_dir() / stage / key
    if not (entry / "result.json").exists():
        return None
    res = json.loads((entry / "result.json").read_text())
    for rel in _report_paths(res):
        src, dst = entry / "files" / rel, report / rel
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    res["cached"] = True
    res["message"] = f"{res['message']} (cached result for this source tree, key {key[:12]})"
    return res


def put(stage: str, key: str, report: Path, res: dict) -> None:
    if res.get("status") in ("error", "not_requested"):
        return  # a tool that could not run is not a result worth keeping
    entry = cache_dir() / stage / key
    tmp = entry.with_name(entry.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "files").mkdir(parents=True)
    for rel in _report_paths(res):
        src = report / rel
        if src.is_dir():
            shutil.copytree(src, tmp / "files" / rel)
        elif src.exists():
            (tmp / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp / "files" / rel)
    (tmp / "result.json").write_text(json.dumps(res, default=str))
    shutil.rmtree(entry, ignore_errors=True)
    tmp.rename(entry)
