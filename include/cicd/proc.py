"""Running tools: the scanners' own venv, a clean environment, a bounded time."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from include.common.paths import tools_dir


class ToolMissing(RuntimeError):
    """A scanner or builder is not installed; the message says how to install it."""


@dataclass
class ProcResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def tools_venv() -> Path:
    """The scanners' virtualenv (``$DELIVERY_TOOLS/cicd-venv``), made by scripts/setup.d/40-image-tools.sh."""
    return Path(os.environ.get("DELIVERY_CICD_VENV") or tools_dir() / "cicd-venv")


def tool(name: str) -> str:
    """Absolute path of a scanner in the tools venv, or ToolMissing naming the fix."""
    path = tools_venv() / "bin" / name
    if not path.exists():
        raise ToolMissing(
            f"{name} is not installed in {tools_venv()}: run `bash scripts/setup.d/40-image-tools.sh` "
            "(it installs include/cicd/tools/requirements.txt into that venv)"
        )
    return str(path)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment without the project's PYTHONPATH/virtualenv, so the app runs isolated."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
            "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE", "XDG_CACHE_HOME", "UV_CACHE_DIR")
    env = {k: v for k, v in os.environ.items()
           if k in keep or k.startswith(("PIP_", "UV_")) or "CERT" in k or k.endswith("CA_BUNDLE")}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("HOME", "/tmp")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.update(extra or {})
    return env


def run(args: list[str], *, cwd: str | Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 900) -> ProcResult:
    """Run a command (never through a shell) and capture its output; never raises on exit code."""
    start = time.monotonic()
    try:
        proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env if env is not None else clean_env(),
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return ProcResult([str(a) for a in args], 124, exc.stdout if isinstance(exc.stdout, str) else "",
                          f"timed out after {timeout:.0f} s", time.monotonic() - start)
    return ProcResult([str(a) for a in args], proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)
