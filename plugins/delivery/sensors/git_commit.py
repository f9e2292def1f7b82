"""Sensor: wait for a new commit on a watched branch (deferrable: the waiting runs in the triggerer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from delivery.triggers.git_commit import GitCommitTrigger


class GitCommitSensor(BaseSensorOperator):
    """Succeed when the tip of ``branch`` in ``repo_url`` differs from the last SHA handed on.

    The last SHA is kept in the state folder (``include.cicd.watch``); the sensor does not
    record the new one (the task that acts on it does, with ``include.cicd.watch.record_sha``),
    so a failed hand-over is retried on the next run. Returns the new SHA (XCom).
    With nothing new before ``timeout`` the task is skipped (soft fail), never left hanging.

    :param repo_url: Git repository URL; empty: the seeded demo app repo. (templated)
    :param branch: branch to watch. (templated)
    :param wait_timeout: seconds to wait for a new commit; overrides ``timeout`` at run time. (templated)
    :param poll_interval: seconds between polls.
    :param deferrable: wait in the triggerer (default ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("repo_url", "branch", "wait_timeout")

    def __init__(self, *, repo_url: str, branch: str = "main", wait_timeout: float | None = None,
                 poll_interval: float = 5.0,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
                 **kwargs: Any) -> None:
        kwargs.setdefault("soft_fail", True)
        super().__init__(poke_interval=poll_interval, **kwargs)
        self.repo_url = repo_url
        self.branch = branch
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    def _check(self) -> tuple[str | None, str]:
        from include.cicd.params import app_repo_url
        from include.cicd.watch import branch_tip, last_sha
        from include.common.errors import InputError

        self.repo_url = app_repo_url(self.repo_url)
        if self.wait_timeout is not None:
            self.timeout = float(self.wait_timeout)
        try:
            tip = branch_tip(self.repo_url, self.branch)
        except InputError as exc:
            raise AirflowFailException(str(exc)) from exc
        known = last_sha(self.repo_url, self.branch)
        self.log.info("branch %s of %s: tip %s, last handed on %s", self.branch, self.repo_url, tip, known or "(none)")
        return (tip if tip != known else None), (known or "")

    def poke(self, context) -> bool | Any:
        new, _ = self._check()
        if new:
            context["ti"].xcom_push(key="sha", value=new)
        return bool(new)

    def execute(self, context) -> Any:
        new, known = self._check()
        if new:
            return new
        if not self.deferrable:
            super().execute(context)
            return context["ti"].xcom_pull(task_ids=self.task_id, key="sha")
        self.defer(trigger=GitCommitTrigger(repo_url=self.repo_url, branch=self.branch, known_sha=known or None,
                                            start_time=datetime.now(timezone.utc).isoformat(),
                                            timeout=float(self.timeout), poll_interval=self.poll_interval),
                   method_name="execute_complete")

    def execute_complete(self, context, event: dict[str, Any]) -> str:
        status = event.get("status")
        if status == "success":
            self.log.info("%s", event["message"])
            return event["sha"]
        if status == "timeout":
            raise AirflowSkipException(event["message"])
        raise AirflowFailException(f"watching {self.branch} of {self.repo_url} failed: {event.get('message')}")
