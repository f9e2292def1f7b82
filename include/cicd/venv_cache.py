"""An isolated virtualenv for the app, cached by the hash of its lock file.

``<state>/cicd/venvs/<sha256(lock)[:16]>``: a second run with an unchanged lock reuses it. The venv
is made in a temporary folder and renamed into place when complete, so a crashed or concurrent
run never leaves a half-made venv that a later run would trust.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import time
import uuid
from pathlib import Path

from include.common.errors import InputError
from include.common.paths import state_dir
from include.cicd.proc import clean_env, run
from include.cicd.results import Status, result

LOCK_NAMES = ("requirements.lock", "requirements.txt")


def find_lock(checkout: Path) -> Path:
    for name in LOCK_NAMES:
        if (checkout / name).is_file():
            return checkout / name
    raise InputError("repo_url", f"no lock file ({' or '.join(LOCK_NAMES)}) at the repository root",
                     "commit a pinned requirements.lock (uv pip compile --generate-hashes)")


def lock_hash(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()[:16]


def venvs_dir() -> Path:
    return state_dir() / "cicd" / "venvs"


def _install(lock: Path, dest: Path) -> None:
    uv = shutil.which("uv")
    hashed = "--hash=" in lock.read_text()
    env = clean_env()
    if uv:
        steps = [[uv, "venv", "--quiet", "--python", _base_python(), str(dest)],
                 [uv, "pip", "sync", "--quiet", *(["--require-hashes"] if hashed else []),
                  "--python", str(dest / "bin" / "python"), str(lock)]]
    else:
        steps = [[_base_python(), "-m", "venv", str(dest)],
                 [str(dest / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                  *(["--require-hashes"] if hashed else []), "-r", str(lock)]]
    for args in steps:
        proc = run(args, env=env, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"installing {lock.name} failed: {' '.join(args[:3])}...: {proc.stderr.strip()[-800:]}")


def _base_python() -> str:
    """The interpreter the project's venv was made from (a venv's own python works too)."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base) if base.exists() else sys.executable


def ensure_venv(checkout: Path) -> dict:
    """Make or reuse the app's venv; return a StageResult for the ``env`` stage."""
    start = time.monotonic()
    lock = find_lock(checkout)
    key = lock_hash(lock)
    dest = venvs_dir() / key
    if (dest / ".complete").exists():
        return result("env", Status.OK, f"reused cached environment {key} (lock {lock.name} unchanged)",
                      venv=str(dest), lock_hash=key, reused=True, seconds=round(time.monotonic() - start, 2))
    tmp = venvs_dir() / f".{key}.{uuid.uuid4().hex[:8]}"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    try:
        _install(lock, tmp)
        (tmp / ".complete").write_text(lock.name + "\n")
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        tmp.rename(dest)  # a concurrent run may have won the race: keep theirs
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    # uv-made venvs hard-code their own path in pyvenv.cfg only for `home`, which is unchanged.
    return result("env", Status.OK, f"created environment {key} from {lock.name}", venv=str(dest), lock_hash=key,
                  reused=False, seconds=round(time.monotonic() - start, 2))
