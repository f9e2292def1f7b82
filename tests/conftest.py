"""Test-wide set-up: a throwaway Airflow home and state folder for the whole session.

The environment is set here, at import, because Airflow reads its configuration once, when it
is first imported. Tests never touch the developer's .state/ folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="delivery-tests-"))

os.environ["DELIVERY_STATE"] = str(_SESSION_DIR / "state")
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT_ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
os.environ["AIRFLOW__CORE__PARALLELISM"] = "4"
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ.setdefault("DELIVERY_TOOLS", str(PROJECT_ROOT / ".state" / "tools"))
os.environ["PATH"] = os.pathsep.join([str(Path(os.environ["DELIVERY_TOOLS"]) / "bin"), os.environ["PATH"]])
os.environ["DO_NOT_TRACK"] = "true"
for path in (str(PROJECT_ROOT / "plugins"), str(PROJECT_ROOT)):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
).rstrip(os.pathsep)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """The session's temporary folder (Airflow home and state folder live below it)."""
    return _SESSION_DIR


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB in the session's Airflow home (migrated once)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    marker = home / ".migrated"
    if not marker.exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
        )
        marker.touch()
    return home


# Fixture modules of each family live in tests/fixtures/<name>.py and are loaded here.
pytest_plugins = sorted(
    f"fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if not p.stem.startswith("_")
)

