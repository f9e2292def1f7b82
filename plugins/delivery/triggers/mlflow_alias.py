"""Deferrable wait for an MLflow registered model's alias (``champion``) to move to a new version.

Runs in the triggerer, so the waiting task holds no worker slot. The blocking MLflow call (the
MLOps family's :class:`delivery.hooks.mlflow.MlflowHook`, ``get_alias_version``) runs in a thread.
Every argument is serialized, including ``start_time``, so a restarted triggerer keeps the
deadline. The trigger only reads, so a duplicate running at the same time is harmless. It yields
exactly one event:

- ``{"status": "success", "version", "previous_version", "model": {...}, "waited_s", "polls"}``;
- ``{"status": "timeout", "message", "version" (still the current one), ...}`` when the deadline passed;
- ``{"status": "error", "message", ...}`` after ``max_errors`` consecutive failed polls.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

from airflow.triggers.base import BaseTrigger, TriggerEvent


class MlflowAliasChangedTrigger(BaseTrigger):
    """Fire when ``alias`` of registered model ``model_name`` points at a version other than ``from_version``.

    The sensor :class:`delivery.sensors.mlflow_alias.MlflowAliasChangedSensor` builds it from its
    own (rendered) arguments and uses :meth:`payload` for its own event, so both speak alike.

    :param mlflow_conn_id: Airflow connection of the MLflow store (see ``MlflowHook``).
    :param tracking_uri: overrides the connection's tracking URI.
    :param model_name: registered model name.
    :param alias: the alias to watch (default ``champion``).
    :param from_version: the baseline version (usually the deployed one); empty: any version fires.
    :param poll_interval: seconds before the second poll.
    :param backoff: factor applied to the interval after each poll (1 = fixed interval).
    :param max_poll_interval: the interval never grows beyond this.
    :param timeout: seconds from ``start_time`` after which a ``timeout`` event is sent.
    :param start_time: epoch seconds the wait started (set once, then serialized).
    :param max_errors: consecutive failed polls that end the wait with an ``error`` event.
    """

    def __init__(
        self,
        *,
        mlflow_conn_id: str = "mlflow_default",
        tracking_uri: str | None = None,
        model_name: str,
        alias: str = "champion",
        from_version: str | None = None,
        poll_interval: float = 5.0,
        backoff: float = 1.5,
        max_poll_interval: float = 15.0,
        timeout: float = 3600.0,
        start_time: float | None = None,
        max_errors: int = 5,
    ) -> None:
        super().__init__()
        from include.links.alias import PollSchedule

        self.model_name = model_name
        self.alias = alias
        self.from_version = str(from_version) if from_version not in (None, "") else None
        self.mlflow_conn_id = mlflow_conn_id
        self.tracking_uri = tracking_uri
        self.poll_interval = float(poll_interval)
        self.backoff = float(backoff)
        self.max_poll_interval = float(max_poll_interval)
        self.timeout = float(timeout)
        self.start_time = float(start_time) if start_time is not None else time.time()
        self.max_errors = int(max_errors)
        self.schedule = PollSchedule(self.poll_interval, self.backoff, self.max_poll_interval, self.max_errors)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "model_name": self.model_name,
                "alias": self.alias,
                "from_version": self.from_version,
                "mlflow_conn_id": self.mlflow_conn_id,
                "tracking_uri": self.tracking_uri,
                "poll_interval": self.poll_interval,
                "backoff": self.backoff,
                "max_poll_interval": self.max_poll_interval,
                "timeout": self.timeout,
                "start_time": self.start_time,
                "max_errors": self.max_errors,
            },
        )

    def _read(self) -> dict | None:
        """The alias's model version now (blocking: runs in a thread)."""
        from delivery.hooks.mlflow import MlflowHook

        hook = MlflowHook(self.mlflow_conn_id, tracking_uri=self.tracking_uri)
        return hook.get_alias_version(self.model_name, self.alias)

    def payload(self, status: str, message: str, current: dict | None, polls: int) -> dict[str, Any]:
        """The event's payload: status, message, the model and alias, both versions, the wait so far."""
        return {
            "status": status,
            "message": message,
            "model_name": self.model_name,
            "alias": self.alias,
            "previous_version": self.from_version,
            "version": (current or {}).get("version"),
            "model": current,
            "waited_s": round(time.time() - self.start_time, 3),
            "polls": polls,
        }

    def _event(self, status: str, message: str, current: dict | None, polls: int) -> TriggerEvent:
        return TriggerEvent(self.payload(status, message, current, polls))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from include.links.alias import alias_changed

        delay = self.schedule.interval
        polls = errors = 0
        current: dict | None = None
        while True:
            polls += 1
            try:
                current = await asyncio.to_thread(self._read)
                errors = 0
            except Exception as exc:  # noqa: BLE001 - reported in the event after max_errors
                errors += 1
                self.log.warning("poll %d of %s@%s failed (%d in a row): %s", polls, self.model_name, self.alias, errors, exc)
                if errors >= self.max_errors:
                    yield self._event("error", f"MLflow could not be read {errors} times in a row: {exc}", current, polls)
                    return
            else:
                if alias_changed(current, self.from_version):
                    yield self._event(
                        "success",
                        f"{self.model_name}@{self.alias} moved to version {current['version']} "
                        f"(from {self.from_version or 'nothing deployed'})",
                        current, polls,
                    )
                    return
            remaining = self.start_time + self.timeout - time.time()
            if remaining <= 0:
                now = (current or {}).get("version")
                yield self._event(
                    "timeout",
                    f"{self.model_name}@{self.alias} is still at version {now or '(no alias)'} after "
                    f"{self.timeout:.0f} s (waiting for a version other than {self.from_version or 'none'})",
                    current, polls,
                )
                return
            self.log.info("%s@%s is at %s; next poll in %.1f s", self.model_name, self.alias,
                          (current or {}).get("version") or "(no alias)", min(delay, remaining))
            await asyncio.sleep(min(delay, remaining))
            delay = self.schedule.next(delay)
