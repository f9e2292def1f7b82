"""The REST calls of the stack tests, made with the official client (``apache-airflow-client``).

:class:`OfficialAPI` wraps the generated API classes in the few calls a test needs (trigger,
poll, task instances, XCom, the HITL answer), and returns plain JSON dicts, so a state compares
as the string the REST API sent and a null field is None. Authentication is a JWT from ``/auth/token``
(Airflow's simple auth manager), renewed before it expires.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

import httpx

TERMINAL = ("success", "failed")


class OfficialAPI:
    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url.rstrip("/")
        self.username, self.password = username, password
        self._token_at = 0.0
        self._client = None

    # ----- the client -----------------------------------------------------------------------
    def _token(self) -> str:
        resp = httpx.post(f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password},
                          timeout=30)
        assert resp.status_code == 201, f"POST /auth/token: {resp.status_code} {resp.text}"
        return resp.json()["access_token"]

    @property
    def client(self):
        import airflow_client.client as af

        if self._client is None or time.monotonic() - self._token_at > 1800:
            self._client = af.ApiClient(af.Configuration(host=self.base_url, access_token=self._token()))
            self._token_at = time.monotonic()
        return self._client

    def _api(self, name: str):
        import airflow_client.client as af

        return getattr(af, name)(self.client)

    @staticmethod
    def _plain(model) -> Any:
        # as the REST API sent it: enums as their strings, a field that is null as None
        return model.model_dump(mode="json", by_alias=True)

    def health(self) -> dict:
        """``GET /api/v2/monitor/health``: metadatabase, scheduler, triggerer, dag_processor."""
        return self._plain(self._api("MonitorApi").get_health())

    # ----- DAGs -----------------------------------------------------------------------------
    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 300) -> None:
        """Until the dag-processor has parsed every one of ``dag_ids``."""
        import airflow_client.client as af

        deadline = time.monotonic() + timeout
        for dag_id in dag_ids:
            while True:
                try:
                    self._api("DAGApi").get_dag(dag_id)
                    break
                except af.exceptions.NotFoundException:
                    assert time.monotonic() < deadline, f"{dag_id} is not listed after {timeout:.0f} s"
                    time.sleep(2)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        from airflow_client.client.models.dag_patch_body import DAGPatchBody

        self._api("DAGApi").patch_dag(dag_id, DAGPatchBody(is_paused=paused))

    def unpause(self, dag_id: str) -> None:
        self.set_paused(dag_id, False)

    def pause(self, dag_id: str) -> None:
        self.set_paused(dag_id, True)

    # ----- runs -----------------------------------------------------------------------------
    def trigger(self, dag_id: str, conf: dict) -> dict:
        from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

        return self._plain(self._api("DagRunApi").trigger_dag_run(dag_id, TriggerDAGRunPostBody(logical_date=None,
                                                                                                 conf=conf)))

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._plain(self._api("DagRunApi").get_dag_run(dag_id, run_id))

    def runs(self, dag_id: str) -> list[dict]:
        page = self._api("DagRunApi").get_dag_runs(dag_id, limit=100, order_by=["-start_date"])
        return [self._plain(run) for run in page.dag_runs]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600, poll: float = 1) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} {run_id} is {run['state']} after {timeout:.0f} s: "
                                   f"{self.task_states(dag_id, run_id)}")
            time.sleep(poll)

    def end_active_runs(self, dag_id: str) -> list[str]:
        """Mark the queued and running runs of ``dag_id`` failed (a ``max_active_runs=1`` DAG to ourselves)."""
        from airflow_client.client.models.dag_run_mutable_states import DagRunMutableStates
        from airflow_client.client.models.dag_run_patch_body import DAGRunPatchBody

        api = self._api("DagRunApi")
        ended = []
        for run in api.get_dag_runs(dag_id, limit=100, state=["queued", "running"]).dag_runs:
            api.patch_dag_run(dag_id, run.dag_run_id, DAGRunPatchBody(state=DagRunMutableStates.FAILED))
            ended.append(run.dag_run_id)
        return ended

    # ----- task instances -------------------------------------------------------------------
    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        page = self._api("TaskInstanceApi").get_task_instances(dag_id, run_id, limit=100)
        return [self._plain(ti) for ti in page.task_instances]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"] + (f"[{ti['map_index']}]" if ti["map_index"] >= 0 else ""): ti.get("state")
                for ti in self.task_instances(dag_id, run_id)}

    def wait_for_task(self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            tis = [ti for ti in self.task_instances(dag_id, run_id) if ti["task_id"] == task_id]
            if tis and all(ti.get("state") in states for ti in tis):
                return tis[0]
            run = self.run(dag_id, run_id)
            assert run["state"] not in TERMINAL, (f"{dag_id} {run_id} ended {run['state']} before {task_id} was "
                                                  f"{states}: {self.task_states(dag_id, run_id)}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id}.{task_id} not {states} after {timeout:.0f} s: "
                                   f"{self.task_states(dag_id, run_id)}")
            time.sleep(1)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self._api("XComApi").get_xcom_entry(dag_id, task_id, run_id, key, deserialize=True)
        return getattr(getattr(entry, "actual_instance", entry), "value", None)

    def answer(self, dag_id: str, run_id: str, task_id: str, option: str) -> dict:
        """Answer a human-in-the-loop task as the UI does (``PATCH .../hitlDetails``)."""
        from airflow_client.client.models.update_hitl_detail_payload import UpdateHITLDetailPayload

        api = self._api("TaskInstanceApi")
        detail = self._plain(api.get_hitl_detail(dag_id, run_id, task_id, -1))
        assert option in detail["options"] and not detail["response_received"], detail
        return self._plain(api.update_hitl_detail(dag_id, run_id, task_id, -1,
                                                  UpdateHITLDetailPayload(chosen_options=[option])))
