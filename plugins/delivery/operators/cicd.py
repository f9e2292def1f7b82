"""The task functions of cicd_build_test_scan over include/cicd: each runs one pipeline stage for the DAG run.

The stages share a per-run work folder and report folder, both derived from (dag_id, run_id),
so no task passes paths through XCom. Every task logs a human summary of its stage.
Failures go through ``delivery.failures.step``: ``error.json`` in the report folder, and bad input
(``InputError``) fails the task at once, without retries. The image operators (which pick the
builder: buildah, the Docker engine or pods) are in ``delivery.operators.cicd_image``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from delivery.failures import step


def run_context(context):
    """The run's ``include.cicd.pipeline.RunContext``, as ``prepare`` stored it."""
    from delivery.runs import run_ids
    from include.cicd.pipeline import load_context

    ids = run_ids(context)
    return load_context(ids["dag_id"], ids["dag_run_id"])


def log_result(say: Callable[[str], Any], res: dict, keys: Sequence[str]) -> dict:
    """Log the stage summary; return the small part of the result that goes to XCom (the report has the rest)."""
    from include.cicd.pipeline import log_summary

    for line in log_summary(res).splitlines():
        say(line)
    return {k: res[k] for k in keys if k in res}


@step("prepare")
def prepare(params: dict, context: Any) -> dict:
    """Validate the run's params (repo_url, revision, image, gate_policy, stages, builder) before anything runs.

    Writes ``params.json`` to the run's report folder; returns the validated params. An empty
    ``repo_url`` is the seeded demo app repo; the registry is the ``oci_registry_default``
    connection's; the Docker builder's engine is ``$DOCKER_HOST``, else the local socket.
    """
    from delivery.hooks.registry import OciRegistryHook
    from delivery.runs import run_ids
    from include.cicd.pipeline import prepare as prepare_run

    ids = run_ids(context)
    ctx = prepare_run(ids["dag_id"], ids["dag_run_id"], {
        "repo_url": params.get("repo_url") or "", "revision": params["revision"], "image": params["image"],
        "gate_policy": params["gate_policy"], "stages": params["stages"], "registry": OciRegistryHook().url,
        "builder": params.get("builder") or "auto"})
    print(f"params OK: {json.dumps(ctx.params)}")
    print(f"image builder: {ctx.params['builder']} ({ctx.params['builder_reason']})")
    print(f"report folder: {ctx.report}")
    return ctx.params


def stage(name: str, context: Any) -> dict:
    """Run one stage on the worker: ``checkout``, ``env``, ``test``, ``sast``, ``secrets``, ``audit``, ``sbom``, ``build``.

    (The image stage has its own operator, ``delivery.operators.cicd_image.CicdImageBuildOperator``,
    which picks the builder.) The stage's result goes to ``<report>/stages/<stage>.json``; the
    task succeeds when the stage ran (findings are judged by the gate), and fails when it could
    not run at all.
    """

    def run(context: Any) -> dict:
        from include.cicd.pipeline import run_stage

        res = run_stage(run_context(context), name)
        return log_result(print, res, ("stage", "status", "message", "counts", "sha", "digest"))

    return step(name)(run)(context)


@step("gate")
def gate(context: Any) -> dict:
    """Apply the gate policy to every stage result; fail (no retry) when the verdict is ``fail``.

    Writes ``gate.json``, ``summary.md`` and ``summary.html`` to the report folder.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from include.cicd.pipeline import do_gate

    ctx = run_context(context)
    verdict = do_gate(ctx)
    print(f"gate verdict: {verdict['verdict'].upper()} (policy {verdict['gate_policy']})")
    for name, v in verdict["stages"].items():
        print(f"  {name:<8} {v}")
    for r in verdict["reasons"]:
        print(f"  {r['level'].upper()} {r['stage']}: {r['message']}")
    print(f"summary: {ctx.report / 'summary.md'}")
    if verdict["verdict"] == "fail":
        raise AirflowFailException(
            "gate failed, nothing is pushed: " + "; ".join(f"{r['stage']}: {r['message']}" for r in verdict["reasons"]
                                                         if r["level"] == "fail"))
    return verdict


@step("publish")
def publish(context: Any, push_task_id: str = "push_image") -> dict:
    """Emit the ``app_image`` Asset event: ``include.common.events.AppImage`` (repo_url, sha, image, tag, digest, ...).

    The task needs ``outlets=[app_image]``. Skips when nothing was pushed (no event without an
    image). Writes ``published.json``.
    """
    from airflow.sdk.exceptions import AirflowSkipException

    from include.cicd.pipeline import publish_extra

    pushed = context["ti"].xcom_pull(task_ids=push_task_id) or {}
    if not pushed.get("pushed"):
        raise AirflowSkipException("nothing was pushed: no app_image event")
    extra = publish_extra(run_context(context), pushed)
    for outlet in context["task"].outlets:
        context["outlet_events"][outlet].extra = extra
    print(f"published app_image: {json.dumps(extra)}")
    return extra
