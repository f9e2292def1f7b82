"""Where a task's time goes on the real scheduler path: mlops_train_register over the REST API.

Starts ``airflow standalone`` (tests/e2e/airflow_api.py ``start_standalone``: temporary Airflow
home and state folder, free port) with the Airflow settings of ``scripts/env.sh`` (what
``make airflow`` runs), triggers ``mlops_train_register`` with ``{"n_trials": 8, "workers": 2}``,
waits, and prints for every task instance:

- ``gap``:   upstream done -> queued (the scheduler noticing the upstream and queueing this one)
- ``queue``: queued -> start (the executor picking it up and the task process starting)
- ``wall``:  start -> end (task process: DAG file parse, imports, store connections, work, exit)
- from the task log's timestamps: ``startup`` = start -> end of the task runner's "Pre Execute"
  group (fork, DAG file parse), ``execute`` = -> start of "Post Execute" (the task's own code:
  its imports, store connections and work), ``finish`` = -> end (XCom push, state report)

and the whole run (queued -> end, and start -> end), plus the CPU seconds the standalone's
process group (all components and task processes) used during the run: wall time swings with
what else runs on a shared machine, CPU time much less. With ``--runs N`` it triggers N runs one
after another on the same Airflow and prints medians; ``--warmup K`` (default 1) runs K more first
and leaves them out (the first run on a fresh state also writes the demo data and creates the
MLflow and Optuna stores). ``--env KEY=VALUE`` adds to the standalone's environment, to compare settings,
e.g. a bytecode cache for a venv installed without one (docs/mlops.md, "Task overhead")::

    python bench/bench_task_overhead.py --runs 3 \
        --env PYTHONDONTWRITEBYTECODE= --env PYTHONPYCACHEPREFIX=/tmp/pycache

Targets (the issue): whole run <= 60 s on 2 cores, no task that does little work above 5 s of
wall time.

Against an Airflow that already runs (e.g. the native Celery stack of scripts/stack.sh)::

    python bench/bench_task_overhead.py --base-url http://localhost:8180 \\
        --password-file .state/stack/airflow/simple_auth_manager_passwords.json.generated

(or ``DELIVERY_AIRFLOW_URL`` / ``DELIVERY_AIRFLOW_PASSWORD_FILE``); the DAG is unpaused for the runs and
paused again afterwards if it was paused. Nothing is asserted.
Run: ``make bench`` (one run after the warm-up) or ``.venv/bin/python bench/bench_task_overhead.py --runs 3``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT / "tests"), str(ROOT / "plugins"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

DAG_ID = "mlops_train_register"
CONF = {"n_trials": 8, "workers": 2}
# Tasks that do little work (the target: none above 5 s of wall time).
LIGHT = ("snapshot", "plan", "worker_indexes", "register", "gate", "route", "promote")
RUN_TARGET_S = 60
LIGHT_TARGET_S = 5
COLUMNS = ("gap", "queue", "wall", "startup", "execute", "finish")
# Set per instance by start_standalone (home, port, URLs, log-server ports): never from env.sh.
PER_INSTANCE = {"AIRFLOW_HOME", "AIRFLOW__API__PORT", "AIRFLOW__API__HOST", "AIRFLOW__API__BASE_URL",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT",
                "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__PLUGINS_FOLDER"}


def env_sh_settings(conf_home: Path) -> dict[str, str]:
    """The ``AIRFLOW__*`` settings ``scripts/env.sh`` exports (what ``make airflow`` runs with).

    start_standalone pins a few lean settings of its own (scheduler and triggerer heartbeats of
    2 s, for the e2e tests); those that env.sh does not set go back to Airflow's defaults here, so
    that the numbers are the ones ``make airflow`` gives.
    """
    os.environ["AIRFLOW_HOME"] = str(conf_home)  # this process only reads Airflow's defaults
    from airflow.configuration import conf
    from e2e.airflow_api import standalone_env

    out = subprocess.run(["bash", "-c", f"source {shlex.quote(str(ROOT / 'scripts' / 'env.sh'))} >/dev/null && env -0"],
                         capture_output=True, check=True).stdout.decode()
    exported = dict(item.split("=", 1) for item in out.split("\0") if "=" in item)
    settings = {k: v for k, v in exported.items() if k.startswith("AIRFLOW__") and k not in PER_INSTANCE}
    pinned = standalone_env(Path(tempfile.gettempdir()), 1)
    for key in pinned:
        if key.startswith("AIRFLOW__") and key not in PER_INSTANCE and key not in settings:
            section, option = key[len("AIRFLOW__"):].lower().split("__", 1)
            default = conf.get_default_value(section, option)
            if default is not None:
                settings[key] = str(default)
    return settings


def group_cpu(pgid: int | None) -> float | None:
    """CPU seconds used so far by process group ``pgid`` (our standalone): its live processes' own
    time plus what they collected from reaped children (task processes, DAG-file parsers).

    Unlike wall time, this hardly moves with the load other jobs put on the machine.
    """
    if pgid is None or not Path("/proc").is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; utime, stime, cutime, cstime follow at 11..14
            total += sum(int(f) for f in fields[11:15])
    return total / tick


def ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def log_phases(api, run_id: str, ti: dict) -> tuple[float | None, float | None]:
    """When the task runner's "Pre Execute" group ended and its "Post Execute" group began (log times)."""
    try:
        data = api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/logs/"
                       f"{max(ti['try_number'], 1)}", full_content="true", map_index=ti["map_index"])
    except Exception:  # noqa: BLE001 - a missing log only loses the breakdown
        return None, None
    pre_end = post_start = None
    group = None
    for item in data.get("content") or []:
        if not isinstance(item, dict) or not item.get("timestamp"):
            continue
        event = str(item.get("event", ""))
        if event.startswith("::group::"):
            group = event[len("::group::"):]
            if group == "Post Execute" and post_start is None:
                post_start = ts(item["timestamp"])
        elif event == "::endgroup::" and group == "Pre Execute" and pre_end is None:
            pre_end = ts(item["timestamp"])
    return pre_end, post_start


def measure_run(api, upstream: dict[str, list[str]], timeout: float) -> dict:
    """Trigger one run, wait for it, and return its timings (seconds)."""
    pgid = api.process.pid if api.process is not None else None
    cpu_before = group_cpu(pgid)
    run = api.trigger(DAG_ID, CONF)
    run_id = run["dag_run_id"]
    done = api.wait_for_run(DAG_ID, run_id, timeout=timeout, poll=1)
    cpu_after = group_cpu(pgid)
    tis = api.task_instances(DAG_ID, run_id)
    ends: dict[str, float] = {}
    for ti in tis:
        end = ts(ti["end_date"])
        if end is not None:
            ends[ti["task_id"]] = max(ends.get(ti["task_id"], 0), end)
    run_start = ts(done["start_date"])
    tasks: dict[str, dict] = {}
    for ti in sorted(tis, key=lambda t: (ts(t["start_date"]) or 1e18, t["map_index"])):
        name = ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else "")
        start, end, queued = ts(ti["start_date"]), ts(ti["end_date"]), ts(ti["queued_when"])
        row: dict = {"state": ti["state"], "try": ti["try_number"]}
        if start is None or end is None:
            tasks[name] = row
            continue
        ready = max([ends[u] for u in upstream.get(ti["task_id"], []) if u in ends] or [run_start or start])
        row.update(wall=end - start, queue=(start - queued) if queued else None,
                   gap=(queued - ready) if queued else None)
        pre_end, post_start = log_phases(api, run_id, ti)
        if pre_end is not None:
            row["startup"] = pre_end - start
            if post_start is not None:
                row.update(execute=post_start - pre_end, finish=end - post_start)
        tasks[name] = row
    return {
        "run_id": run_id,
        "state": done["state"],
        "queued_to_end": ts(done["end_date"]) - ts(done["queued_at"]),
        "start_to_end": ts(done["end_date"]) - run_start,
        # every Airflow process and task process of the standalone, while the run was on
        "cpu_s": (cpu_after - cpu_before) if cpu_before is not None and cpu_after is not None else None,
        "tasks": tasks,
    }


def med(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def fmt(value, width=6):
    return f"{value:{width}.1f}" if isinstance(value, (int, float)) else " " * (width - 3) + "n/a"


def report(results: list[dict], where: str) -> None:
    print(f"bench_task_overhead: {DAG_ID} {json.dumps(CONF)} on {where}")
    print(f"  machine: {os.cpu_count()} cores, load average now {os.getloadavg()[0]:.1f}; "
          f"{len(results)} run(s): {', '.join(r['state'] for r in results)}")
    label = "median of " + str(len(results)) if len(results) > 1 else "one run"
    print(f"  per task, seconds ({label}): gap = upstream done -> queued, queue = queued -> start, "
          f"wall = start -> end = startup (fork, DAG parse) + execute (the task's code: imports, stores, work) "
          f"+ finish (XCom, state)")
    print(f"  {'task':<18}" + "".join(f"{c:>8}" for c in COLUMNS))
    names: list[str] = []
    for r in results:
        names += [n for n in r["tasks"] if n not in names]
    over = []
    for name in names:
        rows = [r["tasks"][name] for r in results if name in r["tasks"]]
        vals = {k: med(row.get(k) for row in rows) for k in COLUMNS}
        mark = ""
        if name.split("[")[0] in LIGHT and (vals["wall"] or 0) > LIGHT_TARGET_S:
            mark = f"  > {LIGHT_TARGET_S} s"
            over.append(name)
        print(f"  {name:<18}" + "".join(fmt(vals[k], 8) for k in COLUMNS) + mark)
    q2e = med(r["queued_to_end"] for r in results)
    s2e = med(r["start_to_end"] for r in results)
    print(f"  whole run: queued -> end {fmt(q2e, 0)} s, start -> end {fmt(s2e, 0)} s "
          f"(each: {', '.join(format(r['queued_to_end'], '.1f') for r in results)}; target <= {RUN_TARGET_S} s)")
    cpu = med(r.get("cpu_s") for r in results)
    if cpu is not None:
        print(f"  CPU time of the whole standalone (all components and task processes) during a run: "
              f"{cpu:.1f} s (each: {', '.join(format(r['cpu_s'], '.1f') for r in results)})")
    print(f"  light tasks above {LIGHT_TARGET_S} s: {', '.join(over) or 'none'}")
    print("  JSON " + json.dumps(results, default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1, help="runs to trigger one after another (medians)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="runs before the measured ones, not in the medians (default 1: the first run on a "
                             "fresh state also writes the demo data and creates the MLflow and Optuna stores)")
    parser.add_argument("--base-url", default=os.environ.get("DELIVERY_AIRFLOW_URL"),
                        help="an Airflow that already runs (default: start a standalone one)")
    parser.add_argument("--password-file", default=os.environ.get("DELIVERY_AIRFLOW_PASSWORD_FILE"),
                        help="its simple_auth_manager_passwords.json.generated (with --base-url)")
    parser.add_argument("--username", default=os.environ.get("DELIVERY_AIRFLOW_USER", "admin"))
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for one run")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment of the standalone Airflow (e.g. to compare settings)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary Airflow home and state")
    args = parser.parse_args()

    from e2e.airflow_api import PASSWORD_FILE, AirflowAPI, start_standalone

    tmp = Path(tempfile.mkdtemp(prefix="bench-task-overhead-"))
    api = None
    was_paused = False
    try:
        if args.base_url:
            if not args.password_file:
                parser.error("--base-url needs --password-file (or DELIVERY_AIRFLOW_PASSWORD_FILE)")
            pw = Path(args.password_file)
            if pw.name != PASSWORD_FILE:  # AirflowAPI reads <home>/<PASSWORD_FILE>
                (tmp / PASSWORD_FILE).write_text(pw.read_text())
                pw = tmp / PASSWORD_FILE
            api = AirflowAPI(base_url=args.base_url.rstrip("/"), home=pw.parent, username=args.username)
            where = f"{api.base_url} (already running)"
            t_start = None
        else:
            extra = env_sh_settings(tmp / "conf-home")
            extra["DELIVERY_STATE"] = str(tmp / "state")  # fresh MLflow / Optuna stores and reports
            for conn in ("AIRFLOW_CONN_MLFLOW_DEFAULT", "AIRFLOW_CONN_OPTUNA_DEFAULT"):  # the embedded stores,
                os.environ.pop(conn, None)  # as make airflow has them (--env can set a connection again)
            extra.update(dict(kv.split("=", 1) for kv in args.env))
            t0 = time.perf_counter()
            api = start_standalone(tmp / "airflow", extra_env=extra)
            t_start = time.perf_counter() - t0
            settings = {k: v for k, v in extra.items() if k.startswith("AIRFLOW__") and "CONNECT_ARGS" not in k}
            where = ("airflow standalone (LocalExecutor, SQLite, embedded MLflow and Optuna stores) with "
                     "scripts/env.sh's settings: "
                     + ", ".join(f"{k[len('AIRFLOW__'):].lower()}={v}" for k, v in sorted(settings.items()))
                     + (f"; --env {' '.join(args.env)}" if args.env else ""))
        listed = api.wait_for_dags([DAG_ID])
        was_paused = listed[DAG_ID].get("is_paused", True)
        api.unpause(DAG_ID)
        tasks = api.get(f"/api/v2/dags/{DAG_ID}/tasks")["tasks"]
        upstream: dict[str, list[str]] = {}
        for task in tasks:
            for down in task.get("downstream_task_ids") or []:
                upstream.setdefault(down, []).append(task["task_id"])
        if t_start is not None:
            print(f"airflow standalone answered after {t_start:.1f} s")
        results = []
        for i in range(args.warmup + args.runs):
            res = measure_run(api, upstream, args.timeout)
            kind = "warm-up" if i < args.warmup else "run"
            print(f"{kind} {i + 1}/{args.warmup + args.runs}: {res['state']} in {res['queued_to_end']:.1f} s "
                  f"({res['run_id']}; load average {os.getloadavg()[0]:.1f})", flush=True)
            results.append(res)
        report(results[args.warmup:], where)
        return 0 if all(r["state"] == "success" for r in results) else 1
    finally:
        if api is not None and api.process is None and was_paused:  # someone else's Airflow: leave it as found
            try:
                api.request("PATCH", f"/api/v2/dags/{DAG_ID}", json={"is_paused": True})
            except Exception as exc:  # noqa: BLE001 - say it, do not hide the run's own error
                print(f"could not pause {DAG_ID} again: {exc}", file=sys.stderr)
        if api is not None and api.process is not None:
            api.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
