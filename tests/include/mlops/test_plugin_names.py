"""Airflow's plugins manager imports plugins/delivery/hooks/mlflow.py as top-level `mlflow`: the real library must survive."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CODE = r"""
import importlib.machinery, importlib.util, sys
{preimport}
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[1][:-3]
    loader = importlib.machinery.SourceFileLoader(name, path)    # what _load_plugins_from_plugin_directory does
    spec = importlib.util.spec_from_loader(name, loader)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    loader.exec_module(mod)
import mlflow, optuna
from mlflow.tracking import MlflowClient
import optuna.storages
assert hasattr(mlflow, "__path__") and hasattr(optuna, "__path__"), (mlflow, optuna)
print("OK")
"""

FILES = [ROOT / "plugins/delivery/hooks/mlflow.py", ROOT / "plugins/delivery/operators/mlflow.py",
         ROOT / "plugins/delivery/hooks/optuna.py", ROOT / "plugins/delivery/operators/optuna.py"]


@pytest.mark.parametrize("preimport", ["", "import mlflow, optuna, mlflow.sklearn, optuna.storages"],
                         ids=["libraries-not-yet-imported", "libraries-already-imported"])
def test_plugin_files_named_like_libraries_do_not_shadow_them(preimport):
    out = subprocess.run([sys.executable, "-c", CODE.replace("{preimport}", preimport), *map(str, FILES)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-2000:]
