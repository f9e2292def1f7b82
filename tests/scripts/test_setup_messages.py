"""Bad set-up gets a clear message that says what to do (the scripts users run first)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_script(args: list[str], **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DELIVERY_SKIP_SETUP": "1", **env}
    return subprocess.run(["bash", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300)


def test_too_old_or_missing_python_is_named_with_the_fix(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Python 3.9.2'; exit 0; fi\nexit 1\n")
    fake.chmod(0o755)
    out = run_script(["scripts/setup.d/10-python.sh"], PYTHON=str(fake), VENV=str(tmp_path / "venv"))
    assert out.returncode == 1
    assert "Python 3.11 or newer is needed, found: Python 3.9.2" in out.stderr
    assert "Fix:" in out.stderr
    assert not (tmp_path / "venv").exists()


def test_port_already_taken_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        out = run_script(["scripts/airflow.sh", "start"], AIRFLOW__API__PORT=str(port), DELIVERY_STATE=str(tmp_path),
                         AIRFLOW_HOME=str(tmp_path / "airflow"))
    assert out.returncode == 1
    assert f"port {port} is already in use" in out.stderr
    assert "AIRFLOW__API__PORT" in out.stderr
    assert not (tmp_path / "airflow" / "standalone.pgid").exists()


@pytest.mark.slow
def test_broken_state_folder_gets_the_reset_hint_and_reset_repairs_it(tmp_path):
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "airflow.db").write_bytes(b"this is not a SQLite database, a half-written state folder")
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db"}
    out = run_script(["scripts/migrate.sh"], **env)
    assert out.returncode == 1
    assert "half-migrated" in out.stderr and "--reset" in out.stderr
    out = run_script(["scripts/migrate.sh", "--reset"], **env)
    assert out.returncode == 0, out.stderr
    assert (home / "airflow.db").read_bytes()[:15] == b"SQLite format 3"
