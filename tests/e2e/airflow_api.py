"""Drive a REAL Airflow through its REST API: start ``airflow standalone``, get a token, trigger, poll.

This is a plain helper (not a test module). ``start_standalone()`` starts the api-server, scheduler,
dag-processor and triggerer on a temporary ``AIRFLOW_HOME`` and a free port, in a process group
of their own (the scheduler ignores SIGTERM sent to ``standalone`` alone, so ``stop()`` signals the
whole group). The returned :class:`AirflowAPI` wraps the calls a user makes (see docs/links.md)::

    api = start_standalone(home)
    api.unpause("gitops_manifest_sync")
    run = api.trigger("gitops_manifest_sync", {"dry_run": True})      # logical_date: null
    done = api.wait_for_run("gitops_manifest_sync", run["dag_run_id"])
    print(api.task_logs("gitops_manifest_sync", run["dag_run_id"], "render"))
    api.stop()

The REST facts it relies on (docs/links.md, /work/shared/FACTS.md): ``POST /auth/token`` with the
``admin`` user and the password from ``simple_auth_manager_passwords.json.generated`` -> 201 +
``access_token``; ``PATCH /api/v2/dags/{id}`` ``{"is_paused": false}``; ``POST
/api/v2/dags/{id}/dagRuns`` needs ``logical_date`` (null allowed).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TERMINAL_STATES = {"success", "failed"}
PASSWORD_FILE = "simple_auth_manager_passwords.json.generated"


class ApiError(RuntimeError):
    """A REST call answered with an unexpected status; carries the status and the body."""

    def __init__(self, method: str, path: str, status: int, body: str):
        self.status = status
        self.body = body
        super().__init__(f"{method} {path} -> {status}: {body[:2000]}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def standalone_env(home: Path, port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the standalone processes: this project's dags/ and plugins/, lean settings."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            # Workers reach the execution API through the base URL (default :8080 otherwise).
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            # The log servers default to 8793/8794: another Airflow on this machine would clash.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "PYTHONPATH": os.pathsep.join(
                [str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins"), os.environ.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
    )
    env.update(extra or {})
    return env


@dataclass
class AirflowAPI:
    """A client of one Airflow API server (and, when it started it, the owner of the processes)."""

    base_url: str
    home: Path
    username: str = "admin"
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    _token: str | None = field(default=None, repr=False)
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60), repr=False)

    # ----- auth and raw calls -------------------------------------------------------------
    def password(self) -> str:
        """The admin password SimpleAuthManager generated in the Airflow home."""
        data = json.loads((self.home / PASSWORD_FILE).read_text())
        return data[self.username]

    def token(self, refresh: bool = False) -> str:
        """A JWT from ``POST /auth/token`` (cached)."""
        if self._token is None or refresh:
            resp = self._client.post(
                f"{self.base_url}/auth/token", json={"username": self.username, "password": self.password()}
            )
            if resp.status_code not in (200, 201):
                raise ApiError("POST", "/auth/token", resp.status_code, resp.text)
            self._token = resp.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, expect: Iterable[int] = (200,), **kwargs: Any) -> httpx.Response:
        """Call ``path`` with the bearer token; raise :class:`ApiError` unless the status is in ``expect``."""
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        resp = self._client.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)
        if resp.status_code == 401:  # token expired: once more with a fresh one
            headers["Authorization"] = f"Bearer {self.token(refresh=True)}"
            resp = self._client.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)
        if resp.status_code not in set(expect):
            raise ApiError(method, path, resp.status_code, resp.text)
        return resp

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    # ----- DAGs ---------------------------------------------------------------------------
    def dags(self) -> dict[str, dict]:
        """Every DAG the API server knows, by id."""
        out: dict[str, dict] = {}
        offset = 0
        while True:
            page = self.get("/api/v2/dags", limit=100, offset=offset)
            for dag in page["dags"]:
                out[dag["dag_id"]] = dag
            offset += len(page["dags"])
            if not page["dags"] or offset >= page["total_entries"]:
                return out

    def import_errors(self) -> list[dict]:
        return self.get("/api/v2/importErrors", limit=100)["import_errors"]

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 240) -> dict[str, dict]:
        """Wait until the dag-processor has parsed and stored every one of ``dag_ids``."""
        wanted = set(dag_ids)
        deadline = time.monotonic() + timeout
        while True:
            listed = self.dags()
            errors = self.import_errors()
            if wanted <= set(listed):
                return listed
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"DAGs not listed after {timeout:.0f} s: {sorted(wanted - set(listed))}; "
                    f"import errors: {[e.get('filename') for e in errors]}; log: {self.log_path}"
                )
            time.sleep(2)

    def unpause(self, dag_id: str) -> dict:
        """``PATCH /api/v2/dags/{id}`` with ``{"is_paused": false}`` (DAGs are paused at creation)."""
        return self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False}).json()

    def pause(self, dag_id: str) -> dict:
        """``PATCH /api/v2/dags/{id}`` with ``{"is_paused": true}``: the scheduler starts no new run of it."""
        return self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": True}).json()

    def params(self, dag_id: str) -> dict:
        """The DAG's params as the trigger form sees them (``GET /api/v2/dags/{id}/details``)."""
        return self.get(f"/api/v2/dags/{dag_id}/details").get("params") or {}

    # ----- runs ---------------------------------------------------------------------------
    def trigger(
        self, dag_id: str, conf: dict | None = None, logical_date: str | None = None, run_id: str | None = None
    ) -> dict:
        """``POST /api/v2/dags/{id}/dagRuns``; ``logical_date`` is required in the body (null allowed)."""
        body: dict[str, Any] = {"logical_date": logical_date, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body).json()

    def trigger_raw(self, dag_id: str, body: dict) -> httpx.Response:
        """The same POST with any body and any answer (for testing rejections)."""
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", expect=range(100, 600), json=body)

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns", limit=100, order_by="-start_date")["dag_runs"]

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 300, poll: float = 2, states: Iterable[str] = TERMINAL_STATES
    ) -> dict:
        """Poll ``GET .../dagRuns/{run_id}`` until its state is one of ``states``; return the run."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(dag_id, run_id)
            if run["state"] in wanted:
                return run
            if time.monotonic() > deadline:
                tis = {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}
                raise TimeoutError(f"{dag_id} run {run_id} is {run['state']} after {timeout:.0f} s; tasks: {tis}")
            time.sleep(poll)

    def end_active_runs(self, dag_id: str) -> list[str]:
        """Mark every queued or running run of ``dag_id`` failed (``PATCH .../dagRuns/{id}``); their ids.

        For a test that needs a ``max_active_runs=1`` DAG to itself: a run another test started
        (an Asset event it emitted) would otherwise keep this test's run queued."""
        ended = []
        for run in self.runs(dag_id):
            if run["state"] in ("queued", "running"):
                self.request("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
                ended.append(run["dag_run_id"])
        return ended

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}

    def task_logs(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """The task's log as text (``GET .../taskInstances/{task}/logs/{try}?full_content=true``)."""
        data = self.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            full_content="true",
            map_index=map_index,
        )
        lines = []
        for item in data.get("content") or []:
            if isinstance(item, dict):
                extra = {k: v for k, v in item.items() if k not in ("event", "timestamp", "level", "logger")}
                tail = f" {extra}" if extra and set(extra) - {"chan", "filename", "lineno"} else ""
                lines.append(f"{item.get('level', '')} {item.get('event', '')}{tail}".strip())
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """The XCom value a task pushed (deserialized)."""
        return self.get(
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            deserialize="true",
            map_index=map_index,
        )["value"]

    # ----- processes ----------------------------------------------------------------------
    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> None:
        """Stop the whole process group (TERM, then KILL after ``timeout`` seconds)."""
        self._client.close()
        proc, self.process = self.process, None
        if proc is None:
            return
        stop_group(proc.pid, timeout)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, timeout: float = 20) -> None:
    """TERM the process group ``pgid`` (our own standalone), then KILL what is left after ``timeout``."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Reap the leader if it is our child, or the group never looks empty.
        try:
            os.waitpid(pgid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _group_alive(pgid):
            return
        time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_standalone(
    home: Path, port: int | None = None, extra_env: dict[str, str] | None = None, timeout: float | None = None
) -> AirflowAPI:
    """Start ``airflow standalone`` on ``home`` (it migrates a fresh DB) in its own process group.

    Returns once ``/api/v2/monitor/health`` answers and a token can be had. Raises RuntimeError with
    the end of the log when it exits or does not answer within ``timeout`` seconds.
    """
    # Four components import Airflow at once: on 2 busy cores that took up to 4 minutes here.
    timeout = timeout or float(os.environ.get("DELIVERY_E2E_START_TIMEOUT", "600"))
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = standalone_env(home, port, extra_env)
    airflow = [sys.executable, "-m", "airflow"]
    # `standalone` migrates the fresh SQLite DB itself ("Checking database is initialized").
    log_path = home / "standalone.log"
    log = log_path.open("ab")
    # start_new_session: the child is a process-group leader (pid == pgid), like `setsid`.
    proc = subprocess.Popen(
        [*airflow, "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, cwd=str(home),
    )
    log.close()
    api = AirflowAPI(base_url=f"http://localhost:{port}", home=home, process=proc, log_path=log_path)
    deadline = time.monotonic() + timeout
    probe = httpx.Client(timeout=5)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"airflow standalone exited with {proc.returncode}; end of {log_path}:\n{api.log_tail()}")
            try:
                if probe.get(f"{api.base_url}/api/v2/monitor/health").status_code == 200 and (home / PASSWORD_FILE).exists():
                    api.token()
                    return api
            except (httpx.HTTPError, ApiError, KeyError, json.JSONDecodeError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"airflow standalone did not answer on {api.base_url} within {timeout:.0f} s; "
                                   f"end of {log_path}:\n{api.log_tail()}")
            time.sleep(1)
    except BaseException:
        api.stop()
        raise
    finally:
        probe.close()


def project_dag_ids() -> set[str]:
    """The DAG ids defined in this project's dags/ folder (parsed the way the dag-processor does)."""
    from airflow.dag_processing.dagbag import DagBag

    return set(DagBag(dag_folder=str(PROJECT_ROOT / "dags")).dags)
