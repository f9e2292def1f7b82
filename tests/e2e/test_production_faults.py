"""Faults injected into the production topology (``make stack``): the runs converge, nothing twice.

- A Celery worker is SIGKILLed (with every process of its session: the task's too) in the middle
  of a tuning task: the scheduler sees the task stop heart-beating
  (``TASK_INSTANCE_HEARTBEAT_TIMEOUT``, 60 s in deploy/stack.env), fails that try, and the retry
  runs on the other worker; the study resumes, the trial budget is kept exactly and one model
  version is registered.
- A worker is SIGKILLed while it applies a wave of 400 objects: the retry on the other worker
  applies the rest, every object ends as in Git, and the history records the sync once.
- PostgreSQL (Airflow's, Optuna's and MLflow's store) is restarted in the middle of tuning: the
  run ends, the stack is healthy again, and every trial recorded before is still there.
- The triggerer is SIGKILLed while the alias sensor waits, deferred, the alias moves, and the
  triggerer is started again: it picks the trigger up, the sensor fires once (same try), and
  exactly one commit and one sync follow; killed during a sync's health wait, the resumed wait
  sees Healthy and the sync succeeds in its first try.

Each test starts the killed component again (``scripts/stack.sh start`` starts what is missing).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from e2e.apps import delete_namespace, promote_conf, register_versions, seed_app_repo
from e2e.flow import PROMOTE, SYNC, TRAIN, ts
from e2e.test_flow_rest import require_controllers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _mlflow(stack):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=stack.urls["mlflow"], registry_uri=stack.urls["mlflow"])


def _kill_and_wait_for_the_retry(stack, api, dag_id: str, run_id: str, ti: dict,
                                 at_kill=lambda: None) -> tuple[dict, float, object]:
    """SIGKILL the worker that runs task instance ``ti``, wait for the run, start the worker again.

    Returns (the task instance after its retry, seconds from the kill to the run's end, what
    ``at_kill()`` saw right after the kill); the run must be green and the retry must have run on
    the other worker."""
    victim = ti["hostname"].split("@")[0]
    assert victim in ("worker1", "worker2"), ti
    assert stack.kill(victim) > 1  # the Celery worker and the task's processes
    seen = at_kill()
    killed = time.monotonic()
    try:
        done = api.wait_for_run(dag_id, run_id, timeout=900)
        recovered_s = time.monotonic() - killed
    finally:
        stack.start_missing()
    assert done["state"] == "success", api.task_states(dag_id, run_id)
    retried = next(t for t in api.task_instances(dag_id, run_id) if t["task_id"] == ti["task_id"])
    assert retried["try_number"] == 2, retried
    assert retried["hostname"] != ti["hostname"], f"the retry ran on the killed worker: {retried['hostname']}"
    return retried, recovered_s, seen


def test_a_worker_killed_mid_tuning_is_retried_on_the_other_worker(native_stack, stack_api):
    api, name = stack_api, f"kill-{secrets.token_hex(3)}"
    api.wait_for_dags([TRAIN])
    api.pause(PROMOTE)  # the champion this run promotes is not for deployment
    api.end_active_runs(TRAIN)
    api.unpause(TRAIN)
    run = api.trigger(TRAIN, {"model_name": name, "experiment": name, "n_trials": 12, "workers": 1,
                              "min_metric": 0.5, "tuning_timeout": 900})
    run_id = run["dag_run_id"]
    tune = api.wait_for_task(TRAIN, run_id, "tune", {"running"}, timeout=600)
    mlflow = _mlflow(native_stack)
    deadline = time.monotonic() + 300
    while True:  # kill in the middle of the study: after a trial or two, before the last
        experiment = mlflow.get_experiment_by_name(name)
        trials = mlflow.search_runs([experiment.experiment_id], filter_string="tags.`optuna.state` = 'COMPLETE'",
                                    max_results=20) if experiment else []
        if len(trials) >= 2:
            break
        assert time.monotonic() < deadline, "no trial completed within 300 s of the tune task's start"
        time.sleep(0.5)
    retried, recovered_s, _ = _kill_and_wait_for_the_retry(native_stack, api, TRAIN, run_id, tune)
    # The study kept its budget: 12 counted trials, no trial logged twice; one model version.
    experiment = mlflow.get_experiment_by_name(name)
    trials = [r for r in mlflow.search_runs([experiment.experiment_id], max_results=200)
              if "optuna.trial_number" in r.data.tags]
    counted = [r.data.tags["optuna.trial_number"] for r in trials
               if r.data.tags["optuna.state"] in ("COMPLETE", "PRUNED")]
    assert len(counted) == 12 and len(set(counted)) == 12, sorted(counted)
    assert {r.data.tags.get("optuna.host") for r in trials} == {tune["hostname"], retried["hostname"]}
    versions = mlflow.search_model_versions(f"name = '{name}'")
    assert len(versions) == 1, [v.version for v in versions]
    print(f"\nworker of {tune['hostname']} killed mid-tuning: the run succeeded {recovered_s:.1f} s later, tune retried on "
          f"{retried['hostname']}")


def test_a_triggerer_restart_while_the_alias_sensor_waits_fires_it_once(native_stack, stack_api, k8s_client,
                                                                        kubeconfig):
    from kubernetes import client

    from include.common.git import run_git
    from include.links.manifests import ModelRef

    require_controllers(kubeconfig)
    api, name = stack_api, f"trig-{secrets.token_hex(3)}"
    bare = Path(native_stack.settings["env"]["DELIVERY_STATE"]) / "repos" / f"{name}.git"
    first = seed_app_repo(bare, name, name=name, cpu="100m", served=ModelRef(name, "1", f"models:/{name}/1"))
    url = f"{native_stack.urls['git']}/{bare.name}"
    mlflow = _mlflow(native_stack)
    register_versions(mlflow, name, 2)
    mlflow.set_registered_model_alias(name, "champion", "1")
    api.wait_for_dags([PROMOTE, SYNC])
    for dag_id in (PROMOTE, SYNC):
        api.end_active_runs(dag_id)
        api.unpause(dag_id)
    try:
        run = api.trigger(PROMOTE, {"repo_url": url, "app": name, **promote_conf(name), "model_name": name,
                                    "poll_interval": 1, "backoff": 1, "max_poll_interval": 1, "wait_timeout": 900,
                                    "health_timeout": 120})
        run_id = run["dag_run_id"]
        api.wait_for_task(PROMOTE, run_id, "wait_for_champion", {"deferred"}, timeout=600)
        assert native_stack.kill("triggerer") >= 1
        mlflow.set_registered_model_alias(name, "champion", "2")  # the alias moves while no triggerer runs
        moved, began = time.time(), time.monotonic()
        native_stack.start_missing()
        restarted_s = time.monotonic() - began
        done = api.wait_for_run(PROMOTE, run_id, timeout=600)
        tis = {t["task_id"]: t for t in api.task_instances(PROMOTE, run_id)}
        assert done["state"] == "success", api.task_states(PROMOTE, run_id)
        sensor = tis["wait_for_champion"]
        assert sensor["try_number"] == 1, sensor  # resumed by the new triggerer, not failed and retried
        event = api.xcom(PROMOTE, run_id, "wait_for_champion")
        assert str(event["version"]) == "2", event
        # Fired once: one commit on top of the seed, one sync run of it.
        log = run_git(["log", "--format=%H", f"{first}..main"], cwd=str(bare)).split()
        wrote = api.xcom(PROMOTE, run_id, "write_back")
        assert log == [wrote["sha"]], log
        syncs = [r for r in api.runs(SYNC) if (r.get("conf") or {}).get("app") == name]
        assert len(syncs) == 1 and syncs[0]["state"] == "success", syncs
        cm = client.CoreV1Api(k8s_client).read_namespaced_config_map(f"{name}-settings", name)
        assert cm.data["MODEL_VERSION"] == "2"
        print(f"\ntriggerer killed and started again in {restarted_s:.1f} s; the sensor fired "
              f"{ts(sensor['end_date']) - moved:.1f} s after the alias moved")
    finally:
        delete_namespace(k8s_client, name)


def _restart_postgres() -> float:
    """``pg_ctlcluster <version> main restart -m fast`` on the cluster at 5432 (every connection is cut)."""
    import subprocess

    line = next(row.split() for row in subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True,
                                                      check=True).stdout.splitlines() if row.split()[2] == "5432")
    began = time.monotonic()
    subprocess.run(["pg_ctlcluster", line[0], line[1], "restart", "-m", "fast"], check=True, timeout=120)
    return time.monotonic() - began


def _wait_supervised(native_stack, api, run_id: str, timeout: float) -> dict:
    """Wait for the run while keeping the stack up as a deployment's supervisor does (systemd
    ``Restart=``, a Kubernetes Deployment): the scheduler exits when its database connection is cut
    mid-query, and without a scheduler no run ever ends. Every 20 s, what exited is started again."""
    deadline = time.monotonic() + timeout
    while True:
        native_stack.start_missing()
        try:
            return api.wait_for_run(TRAIN, run_id, timeout=min(20.0, max(1.0, deadline - time.monotonic())))
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def test_a_postgres_restart_mid_run_loses_nothing_recorded(native_stack, stack_api):
    """PostgreSQL holds Airflow's, Optuna's and MLflow's stores: restarted in the middle of tuning, the run
    ends (recovered, or failed with the reason in the task log), the stack is healthy again, and every
    trial recorded before the restart is still there."""
    api, name = stack_api, f"pg-{secrets.token_hex(3)}"
    api.wait_for_dags([TRAIN])
    api.pause(PROMOTE)
    api.end_active_runs(TRAIN)
    api.unpause(TRAIN)
    run = api.trigger(TRAIN, {"model_name": name, "experiment": name, "n_trials": 10, "workers": 1,
                              "min_metric": 0.5, "tuning_timeout": 900})
    run_id = run["dag_run_id"]
    api.wait_for_task(TRAIN, run_id, "tune", {"running"}, timeout=600)
    mlflow = _mlflow(native_stack)
    deadline = time.monotonic() + 300
    while True:
        experiment = mlflow.get_experiment_by_name(name)
        before = {r.info.run_id for r in mlflow.search_runs([experiment.experiment_id], max_results=100)
                  if r.data.tags.get("optuna.state") == "COMPLETE"} if experiment else set()
        if len(before) >= 2:
            break
        assert time.monotonic() < deadline, "no trial completed within 300 s of the tune task's start"
        time.sleep(0.5)
    restart_s = _restart_postgres()
    restarted = time.monotonic()

    done = _wait_supervised(native_stack, api, run_id, timeout=900)
    ended_s = time.monotonic() - restarted
    states = api.task_states(TRAIN, run_id)
    native_stack.start_missing()
    health = api.health()
    assert all(health[part]["status"] == "healthy" for part in ("metadatabase", "scheduler", "triggerer")), health

    after = {r.info.run_id for r in mlflow.search_runs([experiment.experiment_id], max_results=200)}
    assert before <= after, f"trial runs lost: {sorted(before - after)}"
    versions = mlflow.search_model_versions(f"name = '{name}'")
    assert len(versions) <= 1, [v.version for v in versions]
    if done["state"] == "success":
        assert len(versions) == 1
    else:  # failed: the failed task says why (a database error, not an unexplained crash)
        failed = [k for k, v in states.items() if v == "failed"]
        assert failed, states
    print(f"\nPostgreSQL restarted in {restart_s:.1f} s mid-tuning: the run ended {done['state']} {ended_s:.1f} s "
          f"later ({states}); {len(before)} trial runs recorded before it are all still there")


def test_a_worker_killed_mid_apply_is_retried_and_every_object_converges(native_stack, stack_api, k8s_client,
                                                                         kubeconfig, tmp_path):
    """400 ConfigMaps in one wave; the worker applying them is SIGKILLed when some, not all, exist:
    the retry on the other worker applies the rest (server-side apply is idempotent), the sync ends
    Healthy with every object as in Git, and the history records the sync once."""
    from kubernetes import client

    from include.common.git import seed_bare_repo
    from include.gitops import history

    count, api, name = 400, stack_api, f"apply-{secrets.token_hex(3)}"
    src = tmp_path / "src" / "apps" / name
    src.mkdir(parents=True)
    docs = [f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"]
    docs += [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{i:03d}, namespace: {name}}}\ndata: {{index: '{i}'}}\n"
             for i in range(count)]
    (src / "objects.yaml").write_text("---\n".join(docs))
    bare = Path(native_stack.settings["env"]["DELIVERY_STATE"]) / "repos" / f"{name}.git"
    sha = seed_bare_repo(tmp_path / "src", bare, f"{count} config maps")
    core = client.CoreV1Api(k8s_client)

    def applied() -> int:
        try:
            return sum(1 for cm in core.list_namespaced_config_map(name).items if cm.metadata.name.startswith("cm-"))
        except client.ApiException as exc:
            if exc.status == 404:
                return 0
            raise

    api.wait_for_dags([SYNC])
    api.end_active_runs(SYNC)
    api.unpause(SYNC)
    run = api.trigger(SYNC, {"repo_url": f"{native_stack.urls['git']}/{bare.name}", "path": f"apps/{name}",
                             "app": name, "health_timeout": 120})
    run_id = run["dag_run_id"]
    try:
        apply_ti = api.wait_for_task(SYNC, run_id, "apply", {"running"}, timeout=600)
        deadline = time.monotonic() + 120
        while applied() == 0:
            assert time.monotonic() < deadline, "the apply task created nothing within 120 s"
            time.sleep(0.05)
        retried, recovered_s, at_kill = _kill_and_wait_for_the_retry(native_stack, api, SYNC, run_id, apply_ti,
                                                                     at_kill=applied)
        assert at_kill < count, f"all {count} objects were applied before the kill: make the wave larger"
        live = {cm.metadata.name: cm.data for cm in core.list_namespaced_config_map(name).items
                if cm.metadata.name.startswith("cm-")}
        assert live == {f"cm-{i:03d}": {"index": str(i)} for i in range(count)}
        entries = history.entries(name)
        assert [(e.revision, e.result, e.health) for e in entries] == [(sha, "Succeeded", "Healthy")]
        print(f"\nworker of {apply_ti['hostname']} killed with {at_kill} of {count} objects applied: the sync succeeded "
              f"{recovered_s:.1f} s later, apply retried on {retried['hostname']}")
    finally:
        delete_namespace(k8s_client, name)


def test_a_triggerer_restart_during_the_health_wait_still_ends_healthy_once(native_stack, stack_api, k8s_client,
                                                                              kubeconfig, tmp_path):
    """The Deployment's pod needs a node label no node has yet, so the sync's health wait defers
    (Progressing). The triggerer is SIGKILLed and started again, then a node gets the label: the
    resumed wait sees Healthy, the sync succeeds in its first try, and the history says so once."""
    from kubernetes import client

    from include.common.git import seed_bare_repo
    from include.gitops import history

    require_controllers(kubeconfig)
    api, name = stack_api, f"health-{secrets.token_hex(3)}"
    src = tmp_path / "src" / "apps" / name
    src.mkdir(parents=True)
    (src / "app.yaml").write_text(f"""apiVersion: v1
kind: Namespace
metadata: {{name: {name}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      nodeSelector: {{delivery.io/pool: {name}}}
      containers:
      - {{name: web, image: nginx:1.27-alpine}}
""")
    bare = Path(native_stack.settings["env"]["DELIVERY_STATE"]) / "repos" / f"{name}.git"
    sha = seed_bare_repo(tmp_path / "src", bare, "a Deployment that waits for its node pool")
    core = client.CoreV1Api(k8s_client)
    node = core.list_node().items[0].metadata.name
    api.wait_for_dags([SYNC])
    api.end_active_runs(SYNC)
    api.unpause(SYNC)
    try:
        run = api.trigger(SYNC, {"repo_url": f"{native_stack.urls['git']}/{bare.name}", "path": f"apps/{name}",
                                 "app": name, "health_timeout": 600})
        run_id = run["dag_run_id"]
        api.wait_for_task(SYNC, run_id, "wait_for_health", {"deferred"}, timeout=600)
        assert native_stack.kill("triggerer") >= 1
        native_stack.start_missing()
        core.patch_node(node, {"metadata": {"labels": {"delivery.io/pool": name}}})
        labelled = time.time()
        done = api.wait_for_run(SYNC, run_id, timeout=600)
        assert done["state"] == "success", api.task_states(SYNC, run_id)
        wait = next(t for t in api.task_instances(SYNC, run_id) if t["task_id"] == "wait_for_health")
        assert wait["try_number"] == 1, wait
        assert [(e.revision, e.result, e.health) for e in history.entries(name)] == [(sha, "Succeeded", "Healthy")]
        print(f"\ntriggerer restarted during the health wait: Healthy seen {ts(wait['end_date']) - labelled:.1f} s "
              "after the node got the label")
    finally:
        core.patch_node(node, {"metadata": {"labels": {"delivery.io/pool": None}}})
        delete_namespace(k8s_client, name)
