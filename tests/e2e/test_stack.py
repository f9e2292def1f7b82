"""The native production stack (make stack) end to end: started once by scripts/stack.sh (fixture
``native_stack``, tests/fixtures/stack.py), then driven the way a user and the pipelines reach it:

- the api-server answers over REST with a token and reports every component healthy;
- two Celery workers with distinct host names answer ``celery inspect ping``;
- a DAG run triggered with the official REST client (apache-airflow-client) succeeds, and its
  tasks ran on those workers (the task instances' ``hostname``);
- the connections the pipelines use (mlflow_default, optuna_default, oci_registry_default,
  kubernetes_default) answer through the project's hooks, in a component's environment;
- the MLflow server answers, keeps its store in PostgreSQL and serves its artifacts;
- the demo manifests repo clones over the stack's Git HTTP server;
- every running component has docker-compose.yaml's settings (read from /proc);
- a second start changes nothing, and ``stop`` leaves no process behind.

The tests run in file order; the last one stops the stack.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKERS = ("worker1", "worker2")
# A light DAG that needs no other input: it watches a branch of the demo app repo, which it reads
# here over the stack's Git server (so a Celery task talks to it), and hands the new SHA to
# cicd_build_test_scan. That DAG stays paused (paused at creation), so its run only waits, queued.
# The test pushes a commit over HTTP first, so there is always a new SHA to notice.
DAG_ID = "cicd_watch_branch"


def _token(stack) -> str:
    resp = httpx.post(f"{stack.api_url}/auth/token", json={"username": "admin", "password": stack.password()},
                      timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["access_token"]


def test_start_says_what_runs_where_and_how_long_it_took(native_stack):
    out = native_stack.start_output
    assert "stack: started in" in out, out[-2000:]
    for needle in (native_stack.api_url, native_stack.urls["mlflow"], native_stack.urls["git"],
                   str(native_stack.password_file), str(native_stack.stack_dir / "logs"), "make stack-stop",
                   "worker1@", "worker2@", "CeleryExecutor"):
        assert needle in out, f"the start output does not mention {needle}"
    print(f"\nnative stack: start took {native_stack.start_seconds:.1f} s")


def test_api_server_is_healthy_over_rest_with_a_token(native_stack):
    token = _token(native_stack)
    headers = {"Authorization": f"Bearer {token}"}
    health = httpx.get(f"{native_stack.api_url}/api/v2/monitor/health", headers=headers, timeout=30).json()
    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert health[part]["status"] == "healthy", health
    version = httpx.get(f"{native_stack.api_url}/api/v2/version", headers=headers, timeout=30).json()
    assert version["version"].startswith("3.3.")
    assert httpx.get(f"{native_stack.api_url}/api/v2/dags", timeout=30).status_code == 401, "no token, no DAGs"


def test_two_celery_workers_with_distinct_host_names_answer(native_stack):
    env = native_stack.component_env("scheduler")
    proc = subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/celery"), "--app", "airflow.providers.celery.executors.celery_executor.app",
         "inspect", "ping", "--json", "--timeout", "10"],
        env=env, cwd=str(native_stack.stack_dir), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    answers = json.loads(proc.stdout.strip().splitlines()[-1])
    host = socket.gethostname()
    assert set(answers) == {f"{w}@{host}" for w in WORKERS}, answers
    assert all(reply == {"ok": "pong"} for reply in answers.values()), answers


def test_a_dag_run_over_rest_with_the_official_client_runs_on_the_celery_workers(native_stack):
    import airflow_client.client as client
    from airflow_client.client.api.dag_api import DAGApi
    from airflow_client.client.api.dag_run_api import DagRunApi
    from airflow_client.client.api.task_instance_api import TaskInstanceApi
    from airflow_client.client.models.dag_patch_body import DAGPatchBody
    from airflow_client.client.api.x_com_api import XComApi
    from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

    from include.common import git

    repo = f"{native_stack.urls['git']}/app.git"
    pushed = git.commit_files(repo, "main", {"STACK_TEST.md": f"pushed by {secrets.token_hex(4)}\n"},
                              "test: a new commit for cicd_watch_branch")
    assert pushed and git.resolve(repo, "main") == pushed
    config = client.Configuration(host=native_stack.api_url, access_token=_token(native_stack))
    with client.ApiClient(config) as api:
        dags = DAGApi(api)
        deadline = time.monotonic() + 300
        while True:  # the dag-processor parses dags/ after its start
            try:
                dag = dags.get_dag(DAG_ID)
                break
            except client.exceptions.NotFoundException:
                assert time.monotonic() < deadline, f"{DAG_ID} is not listed 300 s after the start"
                time.sleep(2)
        assert dag.is_paused is True  # DAGS_ARE_PAUSED_AT_CREATION from deploy/stack.env
        dags.patch_dag(DAG_ID, DAGPatchBody(is_paused=False))
        runs = DagRunApi(api)
        began = time.monotonic()
        run = runs.trigger_dag_run(DAG_ID, TriggerDAGRunPostBody(
            logical_date=None, conf={"repo_url": repo, "branch": "main", "wait_timeout": 120}))
        deadline = time.monotonic() + 300
        while True:
            run = runs.get_dag_run(DAG_ID, run.dag_run_id)
            state = getattr(run.state, "value", run.state)
            if state in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"{DAG_ID} run {run.dag_run_id} is {state} after 300 s"
            time.sleep(0.5)
        seconds = time.monotonic() - began
        tis = TaskInstanceApi(api).get_task_instances(DAG_ID, run.dag_run_id).task_instances
        handed_on = XComApi(api).get_xcom_entry(DAG_ID, "remember", run.dag_run_id, "return_value", deserialize=True)
    states = {ti.task_id: getattr(ti.state, "value", ti.state) for ti in tis}
    assert state == "success", f"{DAG_ID} run {run.dag_run_id}: {states}; logs in {native_stack.stack_dir}/airflow/logs"
    assert states == {"wait_for_commit": "success", "trigger_build": "success", "remember": "success"}
    value = getattr(getattr(handed_on, "actual_instance", handed_on), "value", None)  # anyOf wrapper, then the XCom
    assert value == pushed, f"the run handed on {value!r}, not the pushed commit {pushed}"
    host = socket.gethostname()
    ran_on = {ti.task_id: ti.hostname for ti in tis}
    assert set(ran_on.values()) <= {f"{w}@{host}" for w in WORKERS}, ran_on
    print(f"\nnative stack: {DAG_ID} triggered over REST -> success in {seconds:.1f} s; tasks ran on {ran_on}")


def test_the_pipelines_connections_answer_through_the_project_hooks(native_stack):
    """In a worker's environment (AIRFLOW_CONN_* from docker-compose.yaml, native addresses), each hook connects."""
    code = """
import json
from delivery.hooks.mlflow import MlflowHook
from delivery.hooks.optuna import OptunaHook
from delivery.hooks.registry import OciRegistryHook
from delivery.hooks.kubernetes import GitOpsKubernetesHook
out = {}
for name, hook in (("mlflow", MlflowHook()), ("optuna", OptunaHook()), ("registry", OciRegistryHook()),
                   ("kubernetes", GitOpsKubernetesHook())):
    out[name] = list(hook.test_connection())
out["mlflow_uri"] = MlflowHook().tracking_uri
out["optuna_url"] = OptunaHook().get_storage_url()
print(json.dumps(out))
"""
    env = native_stack.component_env("worker1")
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["mlflow_uri"] == native_stack.urls["mlflow"]
    assert result["optuna_url"].startswith("postgresql+psycopg2://") and result["optuna_url"].endswith("optuna")
    for name in ("mlflow", "optuna", "registry"):
        assert result[name][0] is True, f"{name}: {result[name][1]}"
    if env.get("KUBECONFIG"):
        assert result["kubernetes"][0] is True, result["kubernetes"][1]


def test_mlflow_server_answers_keeps_its_store_in_postgres_and_serves_artifacts(native_stack):
    import psycopg2

    base = native_stack.urls["mlflow"]
    assert httpx.get(f"{base}/health", timeout=30).text.strip() == "OK"
    name = f"stack-test-{secrets.token_hex(4)}"
    created = httpx.post(f"{base}/api/2.0/mlflow/experiments/create", json={"name": name}, timeout=60)
    assert created.status_code == 200, created.text
    store = next(db for db in native_stack.settings["databases"] if db["purpose"] == "MLflow backend store")
    conn = psycopg2.connect(host=store["host"], port=store["port"], user=store["user"], password=store["password"],
                            dbname=store["name"])
    try:
        with conn.cursor() as cur:
            cur.execute("select artifact_location from experiments where name = %s", (name,))
            row = cur.fetchone()
    finally:
        conn.close()
    assert row is not None, f"experiment {name} is not in PostgreSQL database {store['name']}"
    assert row[0].startswith("mlflow-artifacts:"), row  # served by the server (--serve-artifacts)
    body = secrets.token_bytes(64)
    put = httpx.put(f"{base}/api/2.0/mlflow-artifacts/artifacts/{name}/probe.bin", content=body, timeout=60)
    assert put.status_code == 200, put.text
    artifacts = Path(native_stack.stack_dir) / "mlflow" / "artifacts"
    assert (artifacts / name / "probe.bin").read_bytes() == body
    assert httpx.get(f"{base}/api/2.0/mlflow-artifacts/artifacts/{name}/probe.bin", timeout=60).content == body


def test_the_demo_manifests_repo_clones_over_the_stack_git_server(native_stack, tmp_path):
    listing = httpx.get(f"{native_stack.urls['git']}/healthz", timeout=30).text.split()
    assert {"app.git", "manifests.git"} <= set(listing)
    proc = subprocess.run(["git", "clone", "-q", f"{native_stack.urls['git']}/manifests.git", str(tmp_path / "m")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m" / "apps" / "shop" / "overlays" / "dev").is_dir()
    env = native_stack.component_env("worker1")
    assert env["DELIVERY_GIT_BASE_URL"] == native_stack.urls["git"]


def _session_environments(session: int) -> list[dict[str, str]]:
    """The environments of the processes in one session that still show theirs in /proc.

    A process that sets its title (the api-server, Celery's main process) writes it over its
    environment block; its children (a Celery worker's `airflow celery worker` process) keep it.
    """
    out = subprocess.run(["ps", "-eo", "pid=,sid="], capture_output=True, text=True, check=True).stdout
    envs = []
    for line in out.splitlines():
        pid, sid = map(int, line.split())
        if sid != session:
            continue
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        env = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
        if "AIRFLOW__CORE__EXECUTOR" in env:
            envs.append(env)
    return envs


def test_every_running_component_has_the_compose_settings(native_stack):
    """What the processes really got (/proc/<pid>/environ) is what `stack.sh env` promises, which
    tests/deploy/test_stack.py compares with docker-compose.yaml. The api-server writes its title
    over its environment; its settings show in the other tests (token, health, execution API)."""
    pids = native_stack.pids()
    for component in ("scheduler", "dag-processor", "triggerer", *WORKERS):
        promised = native_stack.component_env(component)
        envs = _session_environments(pids[component])
        assert envs, f"no process of {component} shows its environment"
        for actual in envs:
            keys = {k for k in promised if k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "DELIVERY_", "MLFLOW_"))}
            keys |= {k for k in actual if k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
            different = {k: (promised.get(k), actual.get(k)) for k in sorted(keys) if promised.get(k) != actual.get(k)}
            assert not different, f"{component}: (promised, actual) = {different}"
            assert actual["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_a_second_start_changes_nothing(native_stack):
    before = native_stack.pids()
    began = time.monotonic()
    proc = native_stack.script("start", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "already running" in proc.stdout
    assert time.monotonic() - began < 30
    assert native_stack.pids() == before


def _stack_processes(sessions: set[int], stack_dir: Path) -> list[str]:
    """Live processes of the stack's sessions, or naming its folder. Zombies (exited, not yet reaped
    by init, which is not the stack's parent once scripts/stack.sh has exited) are not processes left."""
    out = subprocess.run(["ps", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        pid, sid, stat, *rest = line.split(None, 3)
        if stat.startswith("Z"):
            continue
        if int(sid) in sessions or int(pid) in sessions or str(stack_dir) in "".join(rest):
            found.append(line.strip())
    return found


def test_stop_leaves_no_process_behind(native_stack):
    sessions = set(native_stack.pids().values())
    running = _stack_processes(sessions, native_stack.stack_dir)
    assert len(running) >= 9, running  # every component, plus their children
    began = time.monotonic()
    proc = native_stack.stop()
    assert proc is not None and proc.returncode == 0, proc.stderr if proc else "stopped already"
    assert "stopped" in proc.stdout
    print(f"\nnative stack: stop took {time.monotonic() - began:.1f} s for {len(running)} processes")
    left = _stack_processes(sessions, native_stack.stack_dir)
    assert not left, "processes of the stack are still running:\n" + "\n".join(left)
    assert not list((native_stack.stack_dir / "run").glob("*.pid"))
    for url in (native_stack.api_url, native_stack.urls["mlflow"], native_stack.urls["git"]):
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=3)
