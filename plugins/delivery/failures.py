"""The one Airflow adapter for failures: how any step tells the user what went wrong.

Decorate a TaskFlow callable, a module function called by one, or an operator's ``execute``
with ``@step("<name>")``. When it raises:

- ``error.json`` (``{"step", "error", "type"}``) is written to the run's report folder, once: the
  first failure of a run is its cause, so a later one does not overwrite it. The same dict is
  pushed as the task's XCom ``error``, so another DAG (a hand-over that triggered this run)
  reads why through Airflow, not through this run's files;
- one log line says ``<step> failed: <error>``;
- an ``InputError`` (a bad param, file, repo: a retry gets the same answer) becomes
  ``AirflowFailException``, so it fails at once without retries. Other errors are re-raised as
  they are, and the task's retries apply (a fault that a retry can fix).

Airflow's control flow (skip, defer, trigger a DAG run, reschedule) passes through untouched.
When the step succeeds (a retry that worked), its earlier ``error.json`` is removed.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

log = logging.getLogger(__name__)
ERROR_FILE = "error.json"


def _control_flow() -> tuple[type[BaseException], ...]:
    from airflow.sdk import exceptions as e

    return (e.AirflowSkipException, e.TaskDeferred, e.DownstreamTasksSkipped, e.DagRunTriggerException,
            e.AirflowRescheduleException)


def _current_context() -> Any | None:
    from airflow.sdk import get_current_context

    try:
        return get_current_context()
    except Exception:  # noqa: BLE001 - called outside a running task (a unit test)
        return None


def record_failure(step_name: str, exc: BaseException, context: Any | None = None) -> dict[str, str] | None:
    """Write ``error.json`` (unless the run already has one) and push the XCom ``error``."""
    from delivery.runs import report_folder
    from include.common.reports import write_report

    context = context or _current_context()
    if context is None:
        return None
    error = {"step": step_name, "error": str(exc), "type": type(exc).__name__}
    try:
        folder = report_folder(context)
        if not (folder / ERROR_FILE).exists():
            write_report(folder, ERROR_FILE, error)
        context["ti"].xcom_push(key="error", value=error)
    except Exception:  # noqa: BLE001 - never hide the real error behind a reporting one
        log.exception("could not record the failure of %s", step_name)
    return error


def clear_failure(step_name: str, context: Any | None = None) -> None:
    """Remove ``error.json`` when it is this step's: a retry of the step succeeded."""
    from delivery.runs import report_folder

    context = context or _current_context()
    if context is None:
        return
    path = report_folder(context) / ERROR_FILE
    if path.exists() and json.loads(path.read_text()).get("step") == step_name:
        path.unlink()


def step(name: str) -> Callable[[Callable], Callable]:
    """Decorator: failures of the step are recorded and explained; bad input is not retried."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            from airflow.sdk.exceptions import AirflowFailException

            from include.common.errors import InputError

            try:
                result = fn(*args, **kwargs)
            except _control_flow():
                raise
            except Exception as exc:
                record_failure(name, exc)
                log.error("%s failed: %s", name, exc)
                if isinstance(exc, InputError):
                    raise AirflowFailException(f"{name}: {exc}") from exc
                raise
            clear_failure(name)
            return result

        return inner

    return wrap
