"""Sensor: wait until an MLflow registered model's alias (``champion``) points at a new version.

Deferrable by default: after one quick check it hands the wait to
:class:`delivery.triggers.mlflow_alias.MlflowAliasChangedTrigger` in the triggerer, so no worker
slot is held while it waits. The XCom result is the trigger's event: ``version``,
``previous_version``, ``model`` (name, version, run_id, source, tags), ``waited_s``, ``polls``.

mlflow is imported only when the sensor runs (DAG files import this module at parse time).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout, AirflowSkipException

from delivery.triggers.mlflow_alias import MlflowAliasChangedTrigger


class MlflowAliasChangedSensor(BaseSensorOperator):
    """Wait until ``alias`` of ``model_name`` points at a version other than ``from_version``.

    :param model_name: registered model name. (templated)
    :param alias: alias to watch, default ``champion``. (templated)
    :param from_version: baseline version, usually the one deployed now; empty: any version
        fires. (templated)
    :param mlflow_conn_id: Airflow connection of the MLflow store (``MlflowHook``); the rendered id
        goes to the trigger. A missing id other than ``mlflow_default`` fails the task. (templated)
    :param tracking_uri: overrides the connection's tracking URI. (templated)
    :param poll_interval: seconds between the first polls. (templated)
    :param backoff: factor on the interval after each poll, 1 = fixed. (templated)
    :param max_poll_interval: upper bound of the interval. (templated)
    :param wait_timeout: seconds to wait in total; then the task fails (or is skipped with
        ``soft_fail``). (templated)
    :param deferrable: wait in the triggerer (default True: holding no worker slot is this sensor's
        point, so it does not follow ``[operators] default_deferrable``, which is False by default);
        False pokes from a worker every ``poll_interval`` seconds.
    """

    template_fields: Sequence[str] = (
        "model_name", "alias", "from_version", "mlflow_conn_id", "tracking_uri", "poll_interval", "backoff",
        "max_poll_interval", "wait_timeout",
    )
    ui_color = "#e1f5fe"

    def __init__(
        self,
        *,
        model_name: str,
        alias: str = "champion",
        from_version: str | None = None,
        mlflow_conn_id: str = "mlflow_default",
        tracking_uri: str | None = None,
        poll_interval: float | str = 5.0,
        backoff: float | str = 1.5,
        max_poll_interval: float | str = 15.0,
        wait_timeout: float | str = 3600.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 5.0)
        super().__init__(**kwargs)
        self.model_name = model_name
        self.alias = alias
        self.from_version = from_version
        self.mlflow_conn_id = mlflow_conn_id
        self.tracking_uri = tracking_uri
        self.poll_interval = poll_interval
        self.backoff = backoff
        self.max_poll_interval = max_poll_interval
        self.wait_timeout = wait_timeout
        self.deferrable = deferrable

    # ------------------------------------------------------------------ helpers
    def _baseline(self) -> str | None:
        value = "" if self.from_version is None else str(self.from_version).strip()
        return None if value in ("", "None", "null") else value

    def _read(self) -> dict | None:
        from delivery.hooks.mlflow import MlflowHook

        return MlflowHook(self.mlflow_conn_id, tracking_uri=self.tracking_uri or None).get_alias_version(
            self.model_name, self.alias
        )

    def _event(self, current: dict, started: float, polls: int) -> dict:
        """The same payload the trigger sends (the alias had moved before any wait)."""
        message = f"{self.model_name}@{self.alias} is at version {current['version']} " \
                  f"(from {self._baseline() or 'nothing deployed'})"
        return self.make_trigger(started).payload("success", message, current, polls)

    def make_trigger(self, start_time: float) -> MlflowAliasChangedTrigger:
        return MlflowAliasChangedTrigger(
            model_name=self.model_name, alias=self.alias, from_version=self._baseline(),
            mlflow_conn_id=self.mlflow_conn_id, tracking_uri=self.tracking_uri or None,
            poll_interval=float(self.poll_interval), backoff=float(self.backoff),
            max_poll_interval=float(self.max_poll_interval), timeout=float(self.wait_timeout), start_time=start_time,
        )

    # ------------------------------------------------------------------ execution
    def execute(self, context) -> Any:
        from include.links.alias import alias_changed

        started = time.time()
        self.make_trigger(started)  # validates the numbers before anything waits
        if not self.deferrable:
            self.timeout = float(self.wait_timeout)
            self.poke_interval = float(self.poll_interval)
            self._started = started
            return super().execute(context)
        current = self._read()
        if alias_changed(current, self._baseline()):
            self.log.info("%s@%s already moved to %s: no wait", self.model_name, self.alias, current["version"])
            return self._event(current, started, polls=1)
        self.log.info("%s@%s is at %s (baseline %s): deferring to the triggerer", self.model_name, self.alias,
                      (current or {}).get("version") or "(no alias)", self._baseline() or "none")
        self.defer(trigger=self.make_trigger(started), method_name="execute_complete")

    def poke(self, context) -> PokeReturnValue:
        from include.links.alias import alias_changed

        current = self._read()
        if alias_changed(current, self._baseline()):
            return PokeReturnValue(True, self._event(current, getattr(self, "_started", time.time()), polls=0))
        return PokeReturnValue(False)

    def execute_complete(self, context, event: dict[str, Any]) -> dict:
        status = (event or {}).get("status")
        if status == "success":
            self.log.info("%s", event.get("message"))
            return event
        message = (event or {}).get("message") or f"unexpected event {event!r}"
        if status == "timeout":
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)  # not retried: a retry would only wait again
        raise AirflowException(message)
