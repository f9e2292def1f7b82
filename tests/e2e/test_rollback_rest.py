"""A bad promotion rolls back all the way to the cluster, through the REST API of a real Airflow.

The app's Deployment asks for 20 of its node's 32 CPUs with ``maxSurge: 1, maxUnavailable: 0``:
the running pod fits, but the new model's surge pod can never be scheduled, so the rollout hits
``progressDeadlineSeconds`` and the Deployment is Degraded (a real kube-scheduler and
kube-controller-manager decide that, not a test double). Then ``mlops_promote_to_gitops`` must:
fail the sync, revert the manifests commit, move ``champion`` back, **sync the revert** so the
cluster is Healthy on the previous model again, and say why everywhere.

It runs on both topologies: ``airflow standalone`` with the embedded MLflow store and a file://
repo, and the production stack (Celery workers, the MLflow server, the repo served over HTTP).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from e2e.apps import overlay, register_versions, seed_app_repo
from e2e.flow import PROMOTE, SYNC, wait_for_task_state
from e2e.test_flow_rest import require_controllers

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.k8s]

OVERLAY = overlay("tight")


@dataclass
class Topology:
    """Where the test runs the DAGs: the REST client, the MLflow registry, and the repos' home and URLs."""

    api: object
    registry: object
    repos: Path
    url: Callable[[Path], str]


@pytest.fixture(params=["standalone", "stack"])
def topology(request, tmp_path) -> Topology:
    """``standalone``: airflow standalone, the embedded MLflow store, a file:// repo. ``stack``: the
    production topology (make stack), the MLflow server, the repo served over HTTP."""
    if request.param == "standalone":
        from delivery.hooks.mlflow import MlflowHook

        return Topology(request.getfixturevalue("airflow_api"), MlflowHook().get_client(), tmp_path,
                        lambda bare: f"file://{bare}")
    from mlflow import MlflowClient

    stack = request.getfixturevalue("native_stack")
    server = stack.urls["mlflow"]
    return Topology(request.getfixturevalue("stack_api"), MlflowClient(tracking_uri=server, registry_uri=server),
                    Path(stack.settings["env"]["DELIVERY_STATE"]) / "repos",
                    lambda bare: f"{stack.urls['git']}/{bare.name}")


@pytest.fixture
def namespace(k8s_client):
    """A namespace of its own, deleted afterwards: its pod holds more than half of the node's CPU."""
    from kubernetes import client

    name = f"tight-{secrets.token_hex(3)}"
    yield name
    core = client.CoreV1Api(k8s_client)
    try:
        core.delete_namespace(name)
    except client.ApiException as exc:
        if exc.status != 404:
            raise
    # Until it is gone: its pod's 20 CPUs would keep the next test's pod from being scheduled.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            core.read_namespace(name)
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        time.sleep(1)


def test_bad_promotion_is_reverted_and_the_revert_is_synced(topology, kubeconfig, k8s_client, namespace):
    from kubernetes import client

    from include.common.git import run_git
    from include.links.manifests import ModelRef
    from trailers import parse_trailers

    require_controllers(kubeconfig)
    model = app = namespace
    airflow_api, registry = topology.api, topology.registry
    bare = topology.repos / f"{namespace}.git"  # the overlay already serves v1, as a first promotion leaves it
    first_sha = seed_app_repo(bare, namespace, name="tight", cpu="20", served=ModelRef(model, "1", f"models:/{model}/1"))
    repo_url = topology.url(bare)
    register_versions(registry, model, 2)
    registry.set_registered_model_alias(model, "champion", "1")

    airflow_api.wait_for_dags([PROMOTE, SYNC])
    for dag_id in (PROMOTE, SYNC):
        airflow_api.end_active_runs(dag_id)  # one run at a time: another test's Asset-started run would queue ours
        airflow_api.unpause(dag_id)
    target = {"repo_url": repo_url, "path": OVERLAY, "app": app}
    first = airflow_api.trigger(SYNC, {**target, "health_timeout": 120})
    assert airflow_api.wait_for_run(SYNC, first["dag_run_id"], timeout=600)["state"] == "success"

    promote = airflow_api.trigger(PROMOTE, {**target, "model_name": model, "configmap": "tight-settings",
                                            "deployment": "tight-web", "poll_interval": 1, "max_poll_interval": 2,
                                            "wait_timeout": 600, "health_timeout": 90})
    wait_for_task_state(airflow_api, PROMOTE, promote["dag_run_id"], "wait_for_champion", {"deferred", "success"})
    registry.set_registered_model_alias(model, "champion", "2")  # the bad promotion
    started = time.monotonic()
    done = airflow_api.wait_for_run(PROMOTE, promote["dag_run_id"], timeout=900)
    took = time.monotonic() - started
    tasks = {t["task_id"]: t["state"] for t in airflow_api.task_instances(PROMOTE, promote["dag_run_id"])}
    print(f"bad promotion -> rolled back and synced in {took:.1f} s: {tasks}")

    # The run is red, and says why: rolled back.
    assert done["state"] == "failed", tasks
    assert tasks["sync"] == "failed" and tasks["rollback"] == "success", tasks
    assert tasks["sync_revert"] == "success" and tasks["check_revert"] == "success", tasks
    wrote = airflow_api.xcom(PROMOTE, promote["dag_run_id"], "write_back")
    rolled = airflow_api.xcom(PROMOTE, promote["dag_run_id"], "rollback")
    assert "Degraded" in rolled["reason"], rolled

    # The failed sync's history says Degraded; the revert's sync is Healthy.
    from include.gitops import history

    results = [(e.revision, e.result, e.health) for e in history.entries(app)]
    assert results[0] == (first_sha, "Succeeded", "Healthy")
    assert results[1] == (wrote["sha"], "Degraded", "Degraded"), results
    assert results[2] == (rolled["revert_commit"], "Succeeded", "Healthy"), results
    assert airflow_api.run(SYNC, rolled["sync"]["sync_run_id"])["conf"]["revision"] == rolled["revert_commit"]

    # Git: the tip is the revert, and it carries why.
    assert run_git(["rev-parse", "main"], cwd=bare) == rolled["revert_commit"]
    trailers = parse_trailers(run_git(["log", "-1", "--format=%B", rolled["revert_commit"]], cwd=bare))
    assert trailers["reverted_commit"] == wrote["sha"] and "Degraded" in trailers["reason"]

    # MLflow: champion is back on v1, and v2 says why it was rolled back.
    assert str(registry.get_model_version_by_alias(model, "champion").version) == "1"
    assert "Degraded" in registry.get_model_version(model, "2").tags["delivery.rollback_reason"]

    # The cluster: Healthy on the previous model, with no surge pod left waiting.
    apps = client.AppsV1Api(k8s_client)
    deploy = apps.read_namespaced_deployment("tight-web", namespace)
    assert deploy.spec.template.metadata.annotations["delivery.io/model-version"] == "1"
    assert (deploy.status.available_replicas or 0) == 1 and (deploy.status.updated_replicas or 0) == 1
    core = client.CoreV1Api(k8s_client)
    assert core.read_namespaced_config_map("tight-settings", namespace).data["MODEL_VERSION"] == "1"
