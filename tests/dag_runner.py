"""Run a project DAG end to end in the test process with ``dag.test()``.

Usage in a test (it needs the ``airflow_db`` fixture)::

    result = run_dag("mlops_train_register", {"n_trials": 4})
    assert result.state == "success"
    assert result.task_states["register"] == "success"
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DagRunResult:
    dag_id: str
    run_id: str
    state: str
    task_states: dict[str, str] = field(default_factory=dict)

    def failed_tasks(self) -> list[str]:
        return [t for t, s in self.task_states.items() if s in ("failed", "upstream_failed")]


def get_dag(dag_id: str):
    """Parse dags/ as the DAG processor does, store the serialized DAGs, return ``dag_id``."""
    from airflow.utils.cli import get_bagged_dag

    return get_bagged_dag(bundle_names=None, dag_id=dag_id)


def run_dag(dag_id: str, conf: dict | None = None) -> DagRunResult:
    """Run ``dag_id`` once with ``conf`` and return its final state and each task's state.

    Mapped tasks report the worst state among their map indexes.
    """
    dag = get_dag(dag_id)
    dagrun = dag.test(run_conf=conf or {})
    rank = {"failed": 4, "upstream_failed": 3, "skipped": 1, "success": 0}
    states: dict[str, str] = {}
    for ti in dagrun.get_task_instances():
        state = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
        prev = states.get(ti.task_id)
        if prev is None or rank.get(state, 2) > rank.get(prev, 2):
            states[ti.task_id] = state
    state = dagrun.state.value if hasattr(dagrun.state, "value") else str(dagrun.state)
    return DagRunResult(dag_id=dag_id, run_id=dagrun.run_id, state=state, task_states=states)
