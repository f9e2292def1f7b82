"""The ``@dag`` arguments every DAG of the project shares, in one place.

``@dag(dag_id=..., schedule=..., doc_md=__doc__, tags=[...], **shared_dag_args("gitops"), params=...)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

START_DATE = datetime(2026, 1, 1)
RETRY_DELAY = timedelta(seconds=10)


def shared_dag_args(owner: str, *, max_active_runs: int = 1, retry_delay: timedelta | None = RETRY_DELAY) -> dict[str, Any]:
    """No catch-up, two retries for faults a retry can fix, and templates rendered as native objects.

    Native rendering: ``"{{ params.n_trials }}"`` reaches an operator as an integer and a conf
    dict keeps its types, so ``include/`` never converts strings back. ``retry_delay=None``
    keeps Airflow's default (5 minutes).
    """
    default_args: dict[str, Any] = {"owner": owner, "retries": 2}
    if retry_delay is not None:
        default_args["retry_delay"] = retry_delay
    return {"start_date": START_DATE, "catchup": False, "max_active_runs": max_active_runs,
            "render_template_as_native_obj": True, "default_args": default_args}
