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

from airflow.sdk import dag, task

from delivery.assets import app_image
from delivery.dag_args import shared_dag_args
from delivery.operators.cicd_image import CicdCleanupOperator, CicdImageBuildOperator, CicdPushOperator
from delivery.operators.cicd_params import build_params


@dag(
    dag_id="cicd_build_test_scan",
    schedule=None,
    doc_md=__doc__,
    tags=["cicd"],
    **shared_dag_args("cicd", max_active_runs=4, retry_delay=None),
    params=build_params(),
)
def cicd_build_test_scan():
    @task
    def prepare(params=None, **context) -> dict:
        """Validate the params (repo_url, revision, image, gate_policy, stages, builder) before anything runs."""
        from delivery.operators import cicd

        return cicd.prepare(params, context)

    @task
    def stage(name: str, **context) -> dict:
        """Run one pipeline stage; its result goes to the report folder, findings are judged by the gate."""
        from delivery.operators import cicd

        return cicd.stage(name, context)

    @task(retries=0)
    def gate(**context) -> dict:
        """Apply the gate policy. No retries: a retry cannot change the verdict."""
        from delivery.operators import cicd

        return cicd.gate(context)

    @task(outlets=[app_image])
    def publish(**context) -> dict:
        """Emit the app_image Asset event of the pushed image (skipped when nothing was pushed)."""
        from delivery.operators import cicd

        return cicd.publish(context)

    checkout, env = stage.override(task_id="checkout")("checkout"), stage.override(task_id="env")("env")
    stages = [stage.override(task_id=s)(s) for s in ("test", "sast", "secrets", "audit", "sbom", "build")]
    image_build = CicdImageBuildOperator(task_id="image_build")
    push = CicdPushOperator(task_id="push_image")
    cleanup = CicdCleanupOperator(task_id="cleanup", retries=0,
                                  doc_md="Removes the run's checkout and local image. No retries: best effort, "
                                         "the next run starts from a fresh work folder anyway.")
    # cleanup is a teardown of checkout: it runs whatever happened after it, and its own
    # outcome never decides the run's state (a failed gate still fails the run).
    prepare() >> checkout >> env >> [*stages, image_build] >> gate() >> push >> publish() >> cleanup.as_teardown(
        setups=checkout.operator)

cicd_build_test_scan()
