"""Give a library's name back when Airflow's plugins manager borrowed it.

Airflow imports every ``*.py`` file below the plugins folder as a top-level module named after
the file's stem (``_load_plugins_from_plugin_directory``: ``mod_name = path.stem``, then
``sys.modules[mod_name] = module``). ``plugins/delivery/hooks/mlflow.py`` therefore lands in
``sys.modules["mlflow"]`` and shadows the real library ("'mlflow' is not a package").

The files concerned call :func:`restore_library` first thing when ``__name__`` is a library's
name: the real package goes back into ``sys.modules`` if it was imported already (found through
a submodule's reference to it), otherwise the entry is removed so the next ``import`` finds the
library. The project-level fix is a ``plugins/.airflowignore`` with ``delivery/`` (the package
is imported through PYTHONPATH, not as plugin files).
"""

from __future__ import annotations

import sys
import types


def restore_library(name: str) -> None:
    impostor = sys.modules.get(name)
    real = None
    for key, module in list(sys.modules.items()):
        if not key.startswith(name + ".") or module is None:
            continue
        candidate = getattr(module, name, None)
        if isinstance(candidate, types.ModuleType) and candidate is not impostor and hasattr(candidate, "__path__"):
            real = candidate
            break
    if real is not None:
        sys.modules[name] = real
    elif sys.modules.get(name) is impostor:
        sys.modules.pop(name, None)
