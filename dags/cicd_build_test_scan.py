"""
# cicd_build_test_scan

Build, test and scan one commit (`revision`) of an application repo (`repo_url`), apply the gate
policy (`gate_policy`), and ship an OCI image only when the gate passes.

`prepare` (validate params) -> `checkout` (exact commit, SHA recorded) -> `env` (virtualenv
cached by the lock file's hash) -> `test`, `sast`, `secrets`, `audit`, `sbom`, `build`,
`image_build` -> **`gate`** -> `push_image` (+ digest check) -> `publish` (`app_image` Asset),
with `cleanup` as the teardown of `checkout`.

The image builder (`builder` param): `buildah` (daemonless, on the worker), `docker` (a Docker
engine through the docker provider), or `kubernetes` (a build pod and, after the gate, a push
pod, through KubernetesPodOperator). `auto` picks one; the `prepare` log says which and why.

A failed gate stops the run before the push. Every stage writes its result to the run's
report folder `<state>/reports/cicd_build_test_scan/<run_id>/` (JUnit, coverage, SARIF, SBOM,
`gate.json`, `summary.md` / `summary.html`; `error.json` says why a run failed). See docs/cicd.md.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from delivery.assets import app_image
from delivery.operators.cicd import CicdGateOperator, CicdPrepareOperator, CicdPublishOperator, CicdStageOperator
from delivery.operators.cicd_image import CicdCleanupOperator, CicdImageBuildOperator, CicdPushOperator
from delivery.operators.cicd_params import build_params


@dag(
    dag_id="cicd_build_test_scan",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    doc_md=__doc__,
    tags=["cicd"],
    default_args={"owner": "cicd", "retries": 2},
    max_active_runs=4,
    render_template_as_native_obj=True,
    params=build_params(),
)
def cicd_build_test_scan():
    prepare = CicdPrepareOperator(
        task_id="prepare", repo_url="{{ params.repo_url or '' }}", revision="{{ params.revision }}",
        image="{{ params.image }}", gate_policy="{{ params.gate_policy }}", stages="{{ params.stages }}",
        builder="{{ params.builder }}")
    checkout = CicdStageOperator(task_id="checkout", stage="checkout")
    env = CicdStageOperator(task_id="env", stage="env")
    stages = [CicdStageOperator(task_id=s, stage=s) for s in ("test", "sast", "secrets", "audit", "sbom", "build")]
    image_build = CicdImageBuildOperator(task_id="image_build")
    gate = CicdGateOperator(task_id="gate", retries=0,
                            doc_md="Applies the gate policy. No retries: a retry cannot change the verdict.")
    push = CicdPushOperator(task_id="push_image")
    publish = CicdPublishOperator(task_id="publish", push_task_id="push_image", outlets=[app_image])
    cleanup = CicdCleanupOperator(task_id="cleanup", retries=0,
                                  doc_md="Removes the run's checkout and local image. No retries: best effort, "
                                         "the next run starts from a fresh work folder anyway.")
    # cleanup is a teardown of checkout: it runs whatever happened after it, and its own
    # outcome never decides the run's state (a failed gate still fails the run).
    prepare >> checkout >> env >> [*stages, image_build] >> gate >> push >> publish >> cleanup.as_teardown(setups=checkout)


cicd_build_test_scan()
