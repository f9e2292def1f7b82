"""The limits of issue #14 that keep the code base readable: module sizes and no dead code.

The numbers themselves are printed by bench/bench_code_health.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_code_health", ROOT / "bench" / "bench_code_health.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("folder, limit", [("plugins", 250), ("dags", 150)])
def test_no_module_is_too_long_to_read(folder, limit):
    too_long = [(n, path) for n, path in _load_bench().line_counts(folder) if n > limit]
    assert not too_long, f"split these modules (more than {limit} lines): {too_long}"


def test_vulture_finds_no_dead_code():
    findings = _load_bench().vulture_findings()
    assert not findings, ("dead code (delete it; a name that Airflow or a framework uses by reflection goes into "
                          "bench/vulture_whitelist.py with a comment):\n" + "\n".join(findings))
