"""The linked MLOps -> GitOps flow on the production topology (``make stack``), over the official REST client.

The stack (fixture ``native_stack``): CeleryExecutor with two workers that run one task at a time
each, PostgreSQL (Airflow, Optuna, MLflow), Redis, an MLflow **server**, the manifests repo served
over HTTP by the stack's Git server, and the session's cluster. One test, one whole hand-over:

``mlops_train_register`` with ``workers: 2`` -> both ``tune`` tasks run at once, one on each worker,
and every trial names the worker that ran it -> gate -> the **approval answered through the REST
API** -> ``champion`` moves on the MLflow server -> the deferred alias sensor of
``mlops_promote_to_gitops`` (waiting in the triggerer) fires -> the write-back commit is pushed
over HTTP -> ``gitops_manifest_sync`` for that commit -> Healthy, the model in the live objects.

And the image hand-over: ``cicd_build_test_scan`` clones the app repo from the Git server, builds
and pushes to the registry (``app_image`` event) -> ``gitops_image_update`` writes the full
reference ``<registry>/<repo>:<tag>@<digest>`` into the overlay -> sync -> the live Deployment runs
exactly that reference; a hand edit of a live object is then reported by ``gitops_drift_check``,
and ``mlops_drift_monitor`` asks for retraining on a drifted batch.
"""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e.apps import delete_namespace, promote_conf, seed_app_repo
from e2e.flow import PROMOTE, SYNC, TRAIN, ts
from e2e.test_flow_rest import require_controllers

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.k8s]

FLOW_DAGS = (TRAIN, PROMOTE, SYNC)
CICD, IMAGE_UPDATE, DRIFT, MONITOR = ("cicd_build_test_scan", "gitops_image_update", "gitops_drift_check",
                                      "mlops_drift_monitor")


@dataclass
class ServedApp:
    name: str  # app, namespace and model name
    url: str  # the manifests repo as the pipelines reach it: over the stack's Git server
    bare: Path


@pytest.fixture
def served_app(native_stack, stack_api, k8s_client, kubeconfig):
    """A fresh app whose manifests repo the stack's Git server serves; DAG runs and namespace cleaned up."""
    require_controllers(kubeconfig)
    name = f"stack-{secrets.token_hex(3)}"
    bare = Path(native_stack.settings["env"]["DELIVERY_STATE"]) / "repos" / f"{name}.git"
    seed_app_repo(bare, name, name=name, cpu="100m")
    stack_api.wait_for_dags(FLOW_DAGS)
    for dag_id in FLOW_DAGS:
        stack_api.end_active_runs(dag_id)
        stack_api.unpause(dag_id)
    yield ServedApp(name=name, url=f"{native_stack.urls['git']}/{bare.name}", bare=bare)
    # The approved champion emitted model_promoted: the run it queued would deploy to the demo repo.
    stack_api.pause(PROMOTE)
    stack_api.end_active_runs(PROMOTE)
    delete_namespace(k8s_client, name)


def test_two_workers_tune_a_person_approves_and_the_champion_reaches_the_cluster(native_stack, stack_api,
                                                                                 k8s_client, served_app):
    from kubernetes import client
    from mlflow import MlflowClient

    from include.common.git import run_git
    from trailers import parse_trailers

    api, name = stack_api, served_app.name
    mlflow = MlflowClient(tracking_uri=native_stack.urls["mlflow"], registry_uri=native_stack.urls["mlflow"])
    promote = api.trigger(PROMOTE, {"repo_url": served_app.url, "app": name, **promote_conf(name), "model_name": name,
                                    "poll_interval": 1, "backoff": 1.5, "max_poll_interval": 3, "wait_timeout": 900,
                                    "health_timeout": 180})
    sensor = api.wait_for_task(PROMOTE, promote["dag_run_id"], "wait_for_champion", {"deferred"}, timeout=600)

    began = time.monotonic()
    train = api.trigger(TRAIN, {"model_name": name, "experiment": name, "n_trials": 8, "workers": 2,
                                "require_approval": True, "min_metric": 0.5})
    api.wait_for_task(TRAIN, train["dag_run_id"], "approve", {"awaiting_input", "deferred"}, timeout=900)
    time.sleep(3)  # a person answers seconds after the request appears
    said = api.answer(TRAIN, train["dag_run_id"], "approve", "Approve")
    assert said["chosen_options"] == ["Approve"] and said["responded_by"]["name"] == "admin", said
    trained = api.wait_for_run(TRAIN, train["dag_run_id"], timeout=600)
    train_s = time.monotonic() - began
    tis = api.task_instances(TRAIN, train["dag_run_id"])
    assert trained["state"] == "success", api.task_states(TRAIN, train["dag_run_id"])

    # Parallel tuning: one tune task on each Celery worker, at the same time, on one study.
    host = socket.gethostname()
    tunes = [t for t in tis if t["task_id"] == "tune"]
    assert {t["hostname"] for t in tunes} == {f"worker1@{host}", f"worker2@{host}"}, tunes
    overlap = min(ts(t["end_date"]) for t in tunes) - max(ts(t["start_date"]) for t in tunes)
    assert overlap > 0, f"the two tune tasks did not run at once: {[(t['start_date'], t['end_date']) for t in tunes]}"
    experiment = mlflow.get_experiment_by_name(name)
    trials = [r for r in mlflow.search_runs([experiment.experiment_id], max_results=100)
              if "optuna.trial_number" in r.data.tags]
    counted = [r for r in trials if r.data.tags["optuna.state"] in ("COMPLETE", "PRUNED")]
    assert len(counted) == 8, [(r.data.tags["optuna.trial_number"], r.data.tags["optuna.state"]) for r in trials]
    assert {r.data.tags.get("optuna.host") for r in trials} == {t["hostname"] for t in tunes}

    # The approved challenger is champion on the MLflow server; the deferred sensor saw it there.
    champion = mlflow.get_model_version_by_alias(name, "champion")
    done = api.wait_for_run(PROMOTE, promote["dag_run_id"], timeout=900)
    assert done["state"] == "success", api.task_states(PROMOTE, promote["dag_run_id"])
    event = api.xcom(PROMOTE, promote["dag_run_id"], "wait_for_champion")
    assert str(event["version"]) == str(champion.version), event
    promote_tis = {t["task_id"]: t for t in api.task_instances(PROMOTE, promote["dag_run_id"])}
    promoted_at = ts(next(t for t in tis if t["task_id"] == "promote")["end_date"])

    # Git: the write-back was pushed over HTTP, and the served main carries the trace ids.
    wrote = api.xcom(PROMOTE, promote["dag_run_id"], "write_back")
    assert run_git(["ls-remote", served_app.url, "refs/heads/main"]).split()[0] == wrote["sha"]
    trailers = parse_trailers(run_git(["log", "-1", "--format=%B", wrote["sha"]], cwd=str(served_app.bare)))
    assert trailers["model_version"] == str(champion.version) and trailers["dag_run_id"] == promote["dag_run_id"]

    # The sync of exactly that commit, and the cluster serves the champion.
    sync = api.run(SYNC, wrote["sync_run_id"])
    assert sync["state"] == "success" and sync["conf"]["revision"] == wrote["sha"], sync
    core, apps = client.CoreV1Api(k8s_client), client.AppsV1Api(k8s_client)
    assert core.read_namespaced_config_map(f"{name}-settings", name).data["MODEL_VERSION"] == str(champion.version)
    deploy = apps.read_namespaced_deployment(f"{name}-web", name)
    assert deploy.spec.template.metadata.annotations["delivery.io/model-version"] == str(champion.version)
    assert (deploy.status.available_replicas or 0) == 1

    # The monitor of the deployed champion: a drifted batch asks for retraining (an Asset event).
    from include.mlops.demo import seed as seed_batches

    api.pause(TRAIN)  # the retrain_requested event would start a training run on the demo data
    api.unpause(MONITOR)
    monitor = api.trigger(MONITOR, {"model_name": name, "batch_path": seed_batches()["drifted_batch"]})
    monitored = api.wait_for_run(MONITOR, monitor["dag_run_id"], timeout=600)
    assert monitored["state"] == "success", api.task_states(MONITOR, monitor["dag_run_id"])
    assert api.task_states(MONITOR, monitor["dag_run_id"])["request_retrain"] == "success"
    drift_runs = mlflow.search_runs([experiment.experiment_id], filter_string="tags.`delivery.kind` = 'drift_monitor'")
    assert len(drift_runs) == 1 and drift_runs[0].data.metrics["drift_share"] >= 0.5

    print(f"\nstack flow: train {train_s:.1f} s (2 tune tasks overlapped {overlap:.1f} s on "
          f"{sorted(t['hostname'] for t in tunes)}); sensor {sensor['state']} while waiting; "
          f"alias -> sensor fired {ts(promote_tis['wait_for_champion']['end_date']) - promoted_at:.1f} s; "
          f"alias -> sync start {ts(sync['start_date']) - promoted_at:.1f} s; "
          f"sync {ts(sync['end_date']) - ts(sync['start_date']):.1f} s")


def test_a_pushed_image_reaches_the_live_deployment_by_its_full_reference(native_stack, stack_api, k8s_client,
                                                                          served_app, oci_registry, image_builder):
    import yaml
    from kubernetes import client

    from include.common.git import run_git

    api, name = stack_api, served_app.name
    api.wait_for_dags([CICD, IMAGE_UPDATE])
    # Manual hand-over to this test's repo: the app_image event would start a run on the demo repo.
    api.pause(IMAGE_UPDATE)
    api.unpause(CICD)
    began = time.monotonic()
    build = api.trigger(CICD, {"repo_url": f"{native_stack.urls['git']}/app.git", "revision": "main", "image": name})
    built = api.wait_for_run(CICD, build["dag_run_id"], timeout=1200)
    build_s = time.monotonic() - began
    assert built["state"] == "success", api.task_states(CICD, build["dag_run_id"])
    published = api.xcom(CICD, build["dag_run_id"], "publish")
    registry_host = oci_registry.split("://", 1)[1]
    assert published["image"] == f"{registry_host}/{name}" and published["digest"].startswith("sha256:"), published
    reference = f"{published['image']}:{published['tag']}@{published['digest']}"

    api.end_active_runs(IMAGE_UPDATE)
    api.unpause(IMAGE_UPDATE)
    update = api.trigger(IMAGE_UPDATE, {"repo_url": served_app.url, "path": promote_conf(name)["path"], "app": name,
                                        "image": published["image"], "tag": published["tag"],
                                        "digest": published["digest"], "health_timeout": 180})
    updated = api.wait_for_run(IMAGE_UPDATE, update["dag_run_id"], timeout=900)
    assert updated["state"] == "success", api.task_states(IMAGE_UPDATE, update["dag_run_id"])
    wrote = api.xcom(IMAGE_UPDATE, update["dag_run_id"], "write_back")

    # Git (over HTTP): the overlay names the image by registry, repository, tag and digest.
    assert run_git(["ls-remote", served_app.url, "refs/heads/main"]).split()[0] == wrote["sha"]
    text = run_git(["show", f"{wrote['sha']}:{promote_conf(name)['path']}/kustomization.yaml"], cwd=str(served_app.bare))
    assert {"name": "nginx", "newName": published["image"], "newTag": published["tag"],
            "digest": published["digest"]} in yaml.safe_load(text)["images"]
    # The cluster runs exactly that reference (Kustomize renders newName:newTag@digest).
    deploy = client.AppsV1Api(k8s_client).read_namespaced_deployment(f"{name}-web", name)
    assert deploy.spec.template.spec.containers[0].image == reference
    assert (deploy.status.available_replicas or 0) == 1
    # A hand edit of a live object: the drift check (over REST) sees it, field by field.
    import json

    from include.common.paths import report_dir

    client.CoreV1Api(k8s_client).patch_namespaced_config_map(f"{name}-settings", name,
                                                             {"data": {"LOG_LEVEL": "trace"}},
                                                             field_manager="kubectl-edit")
    api.unpause(DRIFT)
    check = api.trigger(DRIFT, {"repo_url": served_app.url, "path": promote_conf(name)["path"], "app": name})
    assert api.wait_for_run(DRIFT, check["dag_run_id"], timeout=600)["state"] == "success"
    assert api.task_states(DRIFT, check["dag_run_id"])["emit_drift"] == "success"
    report = json.loads((report_dir(DRIFT, check["dag_run_id"]) / "diff.json").read_text())
    (changed,) = [r for r in report["resources"] if r["status"] != "Synced"]
    assert report["status"] == "OutOfSync" and changed["paths"] == ["/data/LOG_LEVEL"], report

    print(f"\nstack image flow: build+push {build_s:.1f} s over the Git server; "
          f"write-back + sync {ts(updated['end_date']) - ts(updated['start_date']):.1f} s; live image {reference}")
