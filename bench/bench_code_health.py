"""The code-health numbers of issue #14: repeats, module sizes, dead code. Prints, asserts nothing.

    source scripts/env.sh && python bench/bench_code_health.py

- ``duplicates`` pairs of 6+ lines outside tests/ (the team's ``duplicates`` command; skipped,
  with a note, where it is not on PATH);
- the largest module in plugins/ and the longest DAG file, in lines;
- vulture findings over dags/ plugins/ include/ with the committed whitelist
  (bench/vulture_whitelist.py: only names that Airflow, dataclasses or HTTP frameworks use by
  reflection).

The size and vulture limits are also checked by tests/test_code_health.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHITELIST = ROOT / "bench" / "vulture_whitelist.py"


def line_counts(folder: str) -> list[tuple[int, str]]:
    return sorted(((len(p.read_text().splitlines()), str(p.relative_to(ROOT))) for p in (ROOT / folder).rglob("*.py")),
                  reverse=True)


def vulture_findings() -> list[str]:
    out = subprocess.run([sys.executable, "-m", "vulture", "dags", "plugins", "include", str(WHITELIST),
                          "--min-confidence", "60"], cwd=ROOT, capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line.strip()]


def duplicate_pairs() -> list[str] | None:
    if not shutil.which("duplicates"):
        return None
    out = subprocess.run(["duplicates", "--most", "200", "--seconds", "200"], cwd=ROOT, capture_output=True, text=True)
    rows = [line for line in out.stdout.splitlines() if re.match(r"^D\d+ ", line)]
    return [row for row in rows if "tests/" not in row]


def main() -> None:
    plugins, dags = line_counts("plugins"), line_counts("dags")
    print(f"largest module in plugins/: {plugins[0][0]} lines ({plugins[0][1]}); target <= 250")
    print(f"longest DAG file:           {dags[0][0]} lines ({dags[0][1]}); target <= 150")
    findings = vulture_findings()
    print(f"vulture findings:           {len(findings)}; target 0")
    for line in findings:
        print("   " + line)
    pairs = duplicate_pairs()
    if pairs is None:
        print("duplicates pairs:           not measured (the duplicates command is not on PATH)")
    else:
        print(f"duplicates pairs (6+ lines, outside tests/): {len(pairs)}; target <= 8, none of them logic")
        for row in pairs:
            print("   " + row)


if __name__ == "__main__":
    main()
