"""Benchmark of the model -> GitOps link on the embedded default, through the REST API.

Starts a real ``airflow standalone`` (temporary home, free port, PARALLELISM=4) and the local
Kubernetes control plane in a temporary state folder, runs the flow of tests/e2e/flow.py once
(train -> promote -> deferred sensor fires -> manifests commit -> sync -> Healthy) and prints:

- alias change -> sync run start (s)          target <= 30
- worker slots held while the sensor waits     target 0 (running vs deferred task instances)
- whole flow, train trigger -> sync end (s)    target <= 300

Usage: ``source scripts/env.sh && python bench/bench_links.py``. Nothing is asserted.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = Path(tempfile.mkdtemp(prefix="bench-links-"))
os.environ["DELIVERY_STATE"] = str(STATE / "state")  # before any project import reads it
for p in (str(ROOT / "tests"), str(ROOT / "plugins"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)
from include.common.paths import tools_dir  # noqa: E402 - after the path set-up above

os.environ["DELIVERY_TOOLS"] = str(tools_dir())  # the bench's own state folder must not move the tools
os.environ["PATH"] = os.pathsep.join([str(tools_dir() / "bin"), os.environ["PATH"]])


def main() -> int:
    from e2e.airflow_api import start_standalone
    from e2e.flow import run_flow
    from include.common.paths import state_dir
    import scripts.localcluster as localcluster

    if not localcluster.has_local_binaries():
        print(f"bench_links: no cluster: {localcluster.missing_binaries_message()} Fix: {localcluster.SETUP_HINT}")
        return 1
    t0 = time.perf_counter()
    kube = localcluster.start_local(state=state_dir() / "k8s")
    t_cluster = time.perf_counter() - t0
    api = None
    try:
        t1 = time.perf_counter()
        api = start_standalone(STATE / "airflow", extra_env={"KUBECONFIG": str(kube)})
        t_airflow = time.perf_counter() - t1
        flow = run_flow(api)  # the demo manifests repo in the temporary state folder
    finally:
        if api is not None:
            api.stop()
        localcluster.stop_local(state=state_dir() / "k8s", wipe=True)

    def num(value, fmt="{:.1f}"):
        return fmt.format(value) if isinstance(value, (int, float)) else "n/a"

    waiting = flow.get("slots_while_waiting") or {}
    print("bench_links (embedded default: airflow standalone on SQLite, LocalExecutor, PARALLELISM=4, local control plane)")
    print(f"  start: control plane {t_cluster:.1f} s, airflow standalone {t_airflow:.1f} s")
    print(f"  runs: train {flow['train_state']}, promote {flow['promote_state']}, sync {flow.get('sync_state', 'n/a')}, "
          f"health {(flow.get('health') or {}).get('health', 'n/a')}")
    print(f"  alias change -> sync run start:        {num(flow.get('alias_to_sync_start_s'))} s   (target <= 30)")
    print(f"    of which alias change -> sensor done: {num(flow.get('sensor_fired_after_alias_s'))} s")
    print(f"  task instances while the sensor waits: running={waiting.get('running')} deferred={waiting.get('deferred')}"
          f"   (worker slots held by the sensor: 0 when it is deferred; target 0)")
    print(f"  train run:                             {num(flow.get('train_s'))} s")
    print(f"  whole flow, train trigger -> Healthy:  {num(flow.get('flow_s'))} s   (target <= 300)")
    print(json.dumps({k: v for k, v in flow.items() if k not in ("wrote", "sensor_event", "health")}, default=str))
    return 0 if flow["promote_state"] == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
