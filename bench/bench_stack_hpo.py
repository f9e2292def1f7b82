"""Parallel tuning on the production topology: mlops_train_register with workers 1 vs 2, same budget.

Against a running native stack (``make stack``: two Celery workers), over the official REST
client. Each round triggers ``mlops_train_register`` twice with the same ``n_trials`` and seed,
``workers: 1`` then ``workers: 2``, and prints the tuning phase (first ``tune`` start -> last
``tune`` end), the whole run, and the hosts that ran the ``tune`` tasks; then the medians and the
speed-up of the tuning phase (target >= 1.6x on 2 cores). ``mlops_promote_to_gitops`` is paused
for the runs (each run promotes a champion) and left paused. Nothing is asserted.

    make stack
    .venv/bin/python bench/bench_stack_hpo.py --rounds 3 --trials 16

(``--base-url`` / ``--password-file`` for a stack on other ports; the defaults are make stack's.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins"), str(ROOT / "tests")]

from e2e.flow import PROMOTE, TRAIN, ts  # noqa: E402
from e2e.official_api import OfficialAPI  # noqa: E402


def one_run(api: OfficialAPI, workers: int, trials: int, seed: int) -> dict:
    run = api.trigger(TRAIN, {"model_name": "bench-stack-hpo", "experiment": "bench-stack-hpo", "n_trials": trials,
                              "workers": workers, "seed": seed, "tuning_timeout": 1800, "min_metric": 0.5})
    done = api.wait_for_run(TRAIN, run["dag_run_id"], timeout=1800)
    tunes = [t for t in api.task_instances(TRAIN, run["dag_run_id"]) if t["task_id"] == "tune"]
    return {"state": done["state"],
            "tune_s": max(ts(t["end_date"]) for t in tunes) - min(ts(t["start_date"]) for t in tunes),
            "run_s": ts(done["end_date"]) - ts(done["start_date"]),
            "hosts": sorted({t["hostname"] for t in tunes})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=os.environ.get("DELIVERY_AIRFLOW_URL", "http://127.0.0.1:8180"))
    parser.add_argument("--password-file", default=str(ROOT / ".state/stack/airflow/simple_auth_manager_passwords.json"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    if not Path(args.password_file).is_file():  # `make bench` runs every bench: say what this one needs
        print(f"bench_stack_hpo: no stack here ({args.password_file} does not exist): start one with `make stack`, "
              "or give --base-url and --password-file")
        return 0
    password = json.loads(Path(args.password_file).read_text())["admin"]
    api = OfficialAPI(args.base_url, "admin", password)
    api.wait_for_dags([TRAIN, PROMOTE])
    api.pause(PROMOTE)
    api.unpause(TRAIN)
    results: dict[int, list[dict]] = {1: [], 2: []}
    for round_ in range(args.rounds):
        for workers in (1, 2):
            out = one_run(api, workers, args.trials, seed=round_)
            results[workers].append(out)
            print(f"round {round_ + 1}, workers {workers}: {out['state']}, tuning {out['tune_s']:.1f} s, "
                  f"run {out['run_s']:.1f} s, tune tasks on {out['hosts']}", flush=True)
    one = statistics.median(r["tune_s"] for r in results[1])
    two = statistics.median(r["tune_s"] for r in results[2])
    runs = {w: statistics.median(r["run_s"] for r in results[w]) for w in (1, 2)}
    print(f"HPO on the stack, {args.trials} trials, median of {args.rounds}: tuning 1 worker {one:.1f} s, "
          f"2 workers {two:.1f} s, speed-up {one / two:.2f}x (target >= 1.6x on 2 cores); whole run "
          f"{runs[1]:.1f} s vs {runs[2]:.1f} s; load now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
