"""Run every DAG in dags/ once with dag.test(), in the order the families hand over to each
other, and print a summary per DAG: state, duration, failed tasks and the report folder.

Called by scripts/demo.sh (which sets the environment and migrates the DB). Each family's
``include/<family>/demo.py`` seeds its demo inputs (repos, data) and says which confs to run.
A DAG not named in the plan still runs, with its default params.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from dataclasses import dataclass

from include.common.paths import report_dir


@dataclass
class Outcome:
    dag_id: str
    label: str
    state: str
    seconds: float
    failed: list[str]
    reports: str
    expected: str = "success"


def demo_plan() -> list[dict]:
    """The runs, in order: each a dict with dag_id, label, conf and the expected state.

    Each family's ``include/<family>/demo.py`` has ``plan() -> list[dict]``, which seeds its
    demo inputs and returns its runs. A run expected to fail shows a gate doing its job.
    """
    plan: list[dict] = []
    for family in ("cicd", "mlops", "gitops", "links"):
        try:
            module = importlib.import_module(f"include.{family}.demo")
        except ModuleNotFoundError:
            continue
        if hasattr(module, "plan"):
            plan.extend(module.plan())
    return plan


def run(dag_id: str, label: str, conf: dict) -> Outcome:
    from airflow.utils.cli import get_bagged_dag

    start = time.perf_counter()
    try:
        dag = get_bagged_dag(bundle_names=None, dag_id=dag_id)
        dagrun = dag.test(run_conf=conf)
    except Exception:
        traceback.print_exc()
        return Outcome(dag_id, label, "error", time.perf_counter() - start, [], "-")
    states = {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}
    failed = sorted({t for t, s in states.items() if s in ("failed", "upstream_failed")})
    folder = report_dir(dag_id, dagrun.run_id)
    reports = str(folder) if any(folder.iterdir()) else "(no reports)"
    if not any(folder.iterdir()):
        folder.rmdir()
    return Outcome(dag_id, label, str(dagrun.state), time.perf_counter() - start, failed, reports)


def main() -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=None)
    if bag.import_errors:
        for path, err in bag.import_errors.items():
            print(f"error: {path} does not parse:\n{err}", file=sys.stderr)
        return 1
    plan = demo_plan()
    planned = {step["dag_id"] for step in plan}
    plan += [{"dag_id": d, "label": "default params", "conf": {}} for d in sorted(bag.dags) if d not in planned]

    outcomes = []
    for step in plan:
        dag_id, label = step["dag_id"], step.get("label", "")
        print(f"\n=== {dag_id} ({label})", flush=True)
        outcome = run(dag_id, label, step.get("conf", {}))
        outcome.expected = step.get("expect", step.get("expected", "success"))
        outcomes.append(outcome)

    print("\n" + "=" * 100)
    print(f"{'DAG':<28} {'case':<34} {'state':<8} {'time':>7}  reports")
    for o in outcomes:
        note = "" if o.state == o.expected else f"  <-- expected {o.expected}"
        print(f"{o.dag_id:<28} {o.label[:34]:<34} {o.state:<8} {o.seconds:6.1f}s  {o.reports}{note}")
        if o.failed:
            print(f"{'':<28} failed tasks: {', '.join(o.failed)}")
    bad = [o for o in outcomes if o.state != o.expected]
    print("=" * 100)
    print(f"{len(outcomes) - len(bad)} of {len(outcomes)} runs ended as expected.")
    print("Each run's reports are in the folder shown; `make airflow` opens these runs in the UI.")
    from scripts.localcluster import local_status

    cluster = local_status()
    if cluster is not None:
        print(f"The local Kubernetes control plane keeps running so you can look at what was synced:\n"
              f"  KUBECONFIG={cluster.kubeconfig} kubectl get all -A     (stop it with: make k8s-stop)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
