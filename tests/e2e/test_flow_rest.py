"""The whole model flow through the REST API of a real Airflow (standalone) and a real Kubernetes
API server: train -> promote -> the deferred sensor fires -> manifests commit -> sync -> Healthy.
Then the cluster state and the Git history are checked directly."""

from __future__ import annotations

import pytest

from e2e.flow import SYNC, run_flow

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.k8s]


def require_controllers(kubeconfig: str) -> None:
    """Healthy needs controllers: on the local control plane, kube-controller-manager, kube-scheduler and kwok."""
    from fixtures._services import require_service
    from include.common.paths import state_dir
    import scripts.localcluster as localcluster

    status = localcluster.local_status(state_dir() / "k8s")
    if status is not None and str(status.kubeconfig) == str(kubeconfig) and not status.controllers:
        require_service("kube-controller-manager, kube-scheduler and kwok",
                        "the local control plane runs without them, so a Deployment never becomes Available "
                        "and the flow cannot reach Healthy",
                        "run scripts/setup.d/30-k8s.sh (builds them into $DELIVERY_TOOLS/k8s/<version>/)")


def test_train_to_healthy_through_the_rest_api(airflow_api, kubeconfig, k8s_client):
    from kubernetes import client

    from include.common.git import run_git
    from trailers import parse_trailers

    require_controllers(kubeconfig)
    flow = run_flow(airflow_api)  # the demo manifests repo, as with default params
    bare = flow["repo"]["repo_url"].removeprefix("file://")
    assert flow["sensor_state_while_waiting"] == "deferred"
    assert flow["train_state"] == "success", flow
    assert flow["promote_state"] == "success", flow
    tasks = flow["promote_tasks"]
    assert tasks["write_back"] == tasks["sync"] == tasks["check_health"] == "success", tasks
    assert tasks["rollback"] == "skipped" and tasks["announce"] == "skipped"
    assert flow["sync_state"] == "success"
    assert flow["health"]["health"] == "Healthy"

    version = str(flow["sensor_event"]["version"])
    wrote = flow["wrote"]
    # Git: the head of main is our commit, and it carries the trace ids.
    assert run_git(["rev-parse", "main"], cwd=bare) == wrote["sha"]
    trailers = parse_trailers(run_git(["log", "-1", "--format=%B", wrote["sha"]], cwd=bare))
    assert trailers["model_version"] == version
    assert trailers["dag_run_id"] == flow["promote_run"]
    assert trailers["mlflow_run_id"] == flow["sensor_event"]["model"]["run_id"]
    assert trailers.get("data_hash"), "the training data hash is in the commit"
    # The sync ran exactly that commit.
    assert airflow_api.run(SYNC, flow["sync_run"])["conf"]["revision"] == wrote["sha"]
    # The cluster serves the model: ConfigMap keys and the rolled pod template.
    core, apps = client.CoreV1Api(k8s_client), client.AppsV1Api(k8s_client)
    namespace = "shop-dev"
    cm = core.read_namespaced_config_map("shop-settings", namespace)
    assert cm.data["MODEL_VERSION"] == version
    assert cm.data["MODEL_URI"] == f"models:/{trailers['model_name']}/{version}"
    deploy = apps.read_namespaced_deployment("shop-web", namespace)
    assert deploy.spec.template.metadata.annotations["delivery.io/model-version"] == version
    assert (deploy.status.available_replicas or 0) >= 1
