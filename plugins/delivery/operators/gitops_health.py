"""The deferrable wait for a synced app's health (:class:`GitOpsHealthOperator`).

The rules (what ends the wait, what fails the sync) are ``include.gitops.wait``'s; the trigger
is :class:`delivery.triggers.gitops_health.GitOpsHealthTrigger`. Nothing heavy is imported at
module level: DAG files import this module at parse time.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from airflow.sdk import BaseOperator


class GitOpsHealthOperator(BaseOperator):
    """Wait until a synced app is Healthy; deferrable, so no worker slot is held while waiting.

    Healthy ends the task; Degraded fails it; still not Healthy at the timeout fails it too,
    unless ``fail_on_timeout`` is off (the sync's ``progressing_ok`` param): then it is a warning.
    A timeout of 0 means "do not wait": one check, and only Degraded fails. Failing here is final
    (no retry: the wait already gave the app its time) and writes ``error.json`` with step
    ``health``, so ``record`` keeps the health as the sync's result. Writes ``health.json``.

    :param state: the run state from the apply step (templated; an XComArg); gives app,
        resources, health_timeout, kubernetes_conn_id and kubeconfig.
    :param app: app name when no state is given (templated).
    :param resource_ids: resource ids ``group/kind/namespace/name`` when no state is given (templated).
    :param timeout: seconds to wait (default: the state's ``health_timeout``, else 300); 0: do not wait.
    :param poll_interval: seconds between checks.
    :param fail_on_timeout: fail the task when the app is not Healthy in time (default: yes,
        unless the state's ``progressing_ok`` is set).
    :param deferrable: wait in the triggerer, holding no worker slot (default True; Airflow's own
        ``[operators] default_deferrable`` is False, and a health wait must not hold a slot).
    """

    template_fields: Sequence[str] = ("state", "app", "resource_ids")
    ui_color = "#c8e6c9"

    def __init__(
        self,
        *,
        state: Any = None,
        app: str | None = None,
        resource_ids: list[str] | None = None,
        timeout: float | None = None,
        poll_interval: float = 5,
        fail_on_timeout: bool | None = None,
        kubernetes_conn_id: str = "kubernetes_default",
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.app = app
        self.resource_ids = resource_ids
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.fail_on_timeout = fail_on_timeout
        self.kubernetes_conn_id = kubernetes_conn_id
        self.deferrable = deferrable

    def _inputs(self) -> tuple[str, list[str], float, dict[str, Any]]:
        state = dict(self.state or {})
        app = self.app or state.get("app") or ""
        resources = list(self.resource_ids or state.get("resources") or [])
        if self.timeout is not None:
            timeout = float(self.timeout)
        else:
            timeout = float(state["health_timeout"] if state.get("health_timeout") is not None else 300)
        state.setdefault("kubernetes_conn_id", self.kubernetes_conn_id)
        return app, resources, timeout, state

    def _fails_on_timeout(self) -> bool:
        if self.fail_on_timeout is not None:
            return self.fail_on_timeout
        return not (self.state or {}).get("progressing_ok", False)

    def execute(self, context: Any) -> dict[str, Any]:
        from delivery.operators.gitops import hook_for
        from delivery.triggers.gitops_health import GitOpsHealthTrigger
        from include.gitops.wait import first_check

        app, resources, timeout, state = self._inputs()
        hook = hook_for(state)
        if hook.unreachable:
            from include.gitops.kubeconfig import ClusterUnreachableError

            raise ClusterUnreachableError(f"health of {app!r} cannot be checked: {hook.choice.message}")
        if hook.plan_only:
            return self._finish(context, {"status": "plan-only", "health": "Unknown", "message": hook.choice.message,
                                          "resources": {}})
        trigger = GitOpsHealthTrigger(app=app, resources=resources, kubernetes_conn_id=hook.kubernetes_conn_id,
                                      kubeconfig=hook.kubeconfig, context=hook.context, timeout=timeout,
                                      poll_interval=self.poll_interval)
        first = trigger.check()
        done = first_check(app, first, timeout=timeout)
        if done is not None:
            return self._finish(context, done)
        print(f"app {app!r} is {first['health']}; waiting up to {timeout:.0f}s for Healthy")
        if self.deferrable:
            self.defer(trigger=trigger, method_name="execute_complete")
        return self._poll(context, trigger)

    def _poll(self, context: Any, trigger) -> dict[str, Any]:
        """The non-deferrable wait (``deferrable=False``): the trigger's rules, in the worker."""
        from include.gitops.wait import outcome

        while True:
            event = outcome(trigger.app, trigger.check(), timeout=trigger.timeout, remaining=trigger.remaining())
            if event is not None:
                return self._finish(context, event)
            time.sleep(min(trigger.poll_interval, max(trigger.remaining(), 0.1)))

    def execute_complete(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return self._finish(context, event)

    def _finish(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from delivery.failures import ERROR_FILE
        from delivery.runs import report_folder
        from include.common.reports import write_report
        from include.gitops.wait import failure

        for key, value in sorted((event.get("resources") or {}).items()):
            print(f"{value['status']:<12} {key} {value['message']}")
        folder = report_folder(context)
        write_report(folder, "health.json", event)
        message = failure(event, fail_on_timeout=self._fails_on_timeout())
        if message:
            # error.json's type is the wait's outcome (degraded, timeout), not an exception's name
            if not (folder / ERROR_FILE).exists():
                write_report(folder, ERROR_FILE, {"step": "health", "error": message, "type": event["status"]})
            raise AirflowFailException(message)
        if event["status"] == "timeout":
            self.log.warning("%s (not failing: progressing_ok is on)", event["message"])
        else:
            self.log.info(event["message"])
        return {"status": event["status"], "health": event.get("health"), "message": event["message"]}
