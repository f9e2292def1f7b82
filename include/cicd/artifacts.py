"""The ``build`` stage: wheel and sdist (python -m build, no isolation: setuptools comes from the tools venv)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from include.cicd.proc import ToolMissing, clean_env, run, tools_venv
from include.cicd.results import Status, result


def run_build(checkout: Path, report: Path) -> dict:
    if not (checkout / "pyproject.toml").exists() and not (checkout / "setup.py").exists():
        return result("build", Status.FAILED, "no pyproject.toml or setup.py at the repository root")
    python = tools_venv() / "bin" / "python"
    if not python.exists():
        return result("build", Status.ERROR, str(ToolMissing(f"python -m build needs {tools_venv()}: run scripts/setup.d/40-image-tools.sh")))
    dist = report / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    # Build from a copy so build/ and *.egg-info never land in the checkout the other stages read.
    src = report.parent / f".{report.name}-build-src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(checkout, src, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info"))
    proc = run([str(python), "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(dist), str(src)],
               cwd=src, env=clean_env(), timeout=600)
    shutil.rmtree(src, ignore_errors=True)
    files = sorted(dist.glob("*")) if dist.exists() else []
    wheels = [f for f in files if f.suffix == ".whl"]
    sdists = [f for f in files if f.name.endswith(".tar.gz")]
    if proc.returncode != 0 or not wheels or not sdists:
        tail = (proc.stderr or proc.stdout).strip()[-500:]
        return result("build", Status.FAILED, f"wheel/sdist build failed (exit {proc.returncode}): {tail}")
    artifacts = [{"file": f"dist/{f.name}", "sha256": hashlib.sha256(f.read_bytes()).hexdigest(), "bytes": f.stat().st_size}
                 for f in wheels + sdists]
    return result("build", Status.OK, "built " + ", ".join(f.name for f in wheels + sdists), artifacts=artifacts,
                  seconds=round(proc.seconds, 2))
