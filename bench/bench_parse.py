"""Parse time of each DAG file and of the whole dags/ folder, from Airflow's DagBag statistics.

Target: the whole folder under 0.3 s. Run: `make bench` or
`bash -c 'source scripts/env.sh && python bench/bench_parse.py'`. Runs in a fresh interpreter
so that nothing is imported already; the second parse shows the warm cost.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[1] / "dags"
TARGET_S = 0.3


def parse_once():
    from airflow.dag_processing.dagbag import DagBag

    start = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS_DIR))
    return bag, time.perf_counter() - start


def main() -> int:
    import airflow.sdk  # noqa: F401  (Airflow's own import is not the DAGs' cost)

    for label in ("cold", "warm"):
        bag, wall = parse_once()
        total = sum((s.duration for s in bag.dagbag_stats), timedelta()).total_seconds()
        print(f"\nDAG parse times ({label}), from DagBag.dagbag_stats:")
        for s in sorted(bag.dagbag_stats, key=lambda s: s.file):
            print(f"  {s.file:<40} {s.duration.total_seconds():7.3f} s  dags={s.dag_num} tasks={s.task_num}")
        verdict = "ok" if total < TARGET_S else "OVER TARGET"
        print(f"  {'total':<40} {total:7.3f} s  (target < {TARGET_S} s: {verdict}; wall incl. DagBag set-up {wall:.3f} s)")
        if bag.import_errors:
            print(f"  import errors: {bag.import_errors}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
