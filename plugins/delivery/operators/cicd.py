"""Thin operators over include/cicd: each one runs one pipeline stage for the DAG run.

The stages share a per-run work folder and report folder, both derived from (dag_id, run_id),
so no operator passes paths through XCom. Every operator logs a human summary of its stage.
Failures go through ``delivery.failures.step``: ``error.json`` in the report folder, and bad input
(``InputError``) fails the task at once, without retries. The image operators (which pick the
builder: buildah, the Docker engine or pods) are in ``delivery.operators.cicd_image``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from delivery.failures import step
from delivery.hooks.registry import OciRegistryHook


def run_context(context):
    """The run's ``include.cicd.pipeline.RunContext``, as ``prepare`` stored it."""
    from delivery.runs import run_ids
    from include.cicd.pipeline import load_context

    ids = run_ids(context)
    return load_context(ids["dag_id"], ids["dag_run_id"])


def log_result(log, res: dict, keys: Sequence[str]) -> dict:
    """Log the stage summary; return the small part of the result that goes to XCom (the report has the rest)."""
    from include.cicd.pipeline import log_summary

    for line in log_summary(res).splitlines():
        log.info("%s", line)
    return {k: res[k] for k in keys if k in res}


class CicdPrepareOperator(BaseOperator):
    """Validate the run's params (repo_url, revision, image, gate_policy, stages) before anything runs.

    Writes ``params.json`` to the run's report folder; returns the validated params.

    :param repo_url: repository URL; empty: the seeded demo app repo. (templated)
    :param revision: branch, tag or commit. (templated)
    :param image: image repository name. (templated)
    :param gate_policy: gate policy name or path. (templated)
    :param stages: stages to run (a list). (templated)
    :param builder: image builder, ``auto`` / ``buildah`` / ``docker`` / ``kubernetes``. (templated)
    :param oci_registry_conn_id: registry connection (default ``oci_registry_default``).
    :param docker_url: Docker engine for the docker builder (default ``$DOCKER_HOST``, else the local socket).
    """

    template_fields: Sequence[str] = ("repo_url", "revision", "image", "gate_policy", "stages", "builder")

    def __init__(self, *, repo_url: str, revision: str, image: str, gate_policy: str, stages: Any,
                 builder: str = "auto", oci_registry_conn_id: str = OciRegistryHook.default_conn_name,
                 docker_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo_url, self.revision, self.image, self.gate_policy = repo_url, revision, image, gate_policy
        self.stages, self.builder, self.docker_url = stages, builder, docker_url
        self.oci_registry_conn_id = oci_registry_conn_id

    @step("prepare")
    def execute(self, context) -> dict:
        from delivery.runs import run_ids
        from include.cicd.pipeline import prepare

        ids = run_ids(context)
        ctx = prepare(ids["dag_id"], ids["dag_run_id"], {
            "repo_url": self.repo_url, "revision": self.revision, "image": self.image, "gate_policy": self.gate_policy,
            "stages": self.stages, "registry": OciRegistryHook(self.oci_registry_conn_id).url,
            "builder": self.builder}, docker_url=self.docker_url)
        self.log.info("params OK: %s", json.dumps(ctx.params))
        self.log.info("image builder: %s (%s)", ctx.params["builder"], ctx.params["builder_reason"])
        self.log.info("report folder: %s", ctx.report)
        return ctx.params


class CicdStageOperator(BaseOperator):
    """Run one stage on the worker: ``checkout``, ``env``, ``test``, ``sast``, ``secrets``, ``audit``, ``sbom``, ``build``.

    (The image stage has its own operator, ``delivery.operators.cicd_image.CicdImageBuildOperator``,
    which picks the builder.)

    The stage's result goes to ``<report>/stages/<stage>.json``; the task succeeds when the stage
    ran (findings are judged by the gate), and fails when it could not run at all.

    :param stage: stage name.
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, stage: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage = stage

    def execute(self, context) -> dict:
        return step(self.stage)(self._run)(context)

    def _run(self, context) -> dict:
        from include.cicd.pipeline import run_stage

        res = run_stage(run_context(context), self.stage)
        return log_result(self.log, res, ("stage", "status", "message", "counts", "sha", "digest"))


class CicdGateOperator(BaseOperator):
    """Apply the gate policy to every stage result; fail (no retry) when the verdict is ``fail``.

    Writes ``gate.json``, ``summary.md`` and ``summary.html`` to the report folder.
    """

    template_fields: Sequence[str] = ()

    @step("gate")
    def execute(self, context) -> dict:
        from include.cicd.pipeline import do_gate

        ctx = run_context(context)
        verdict = do_gate(ctx)
        self.log.info("gate verdict: %s (policy %s)", verdict["verdict"].upper(), verdict["gate_policy"])
        for stage, v in verdict["stages"].items():
            self.log.info("  %-8s %s", stage, v)
        for r in verdict["reasons"]:
            self.log.info("  %s %s: %s", r["level"].upper(), r["stage"], r["message"])
        self.log.info("summary: %s", ctx.report / "summary.md")
        if verdict["verdict"] == "fail":
            raise AirflowFailException(
                "gate failed, nothing is pushed: " + "; ".join(f"{r['stage']}: {r['message']}" for r in verdict["reasons"]
                                                             if r["level"] == "fail"))
        return verdict


class CicdPublishOperator(BaseOperator):
    """Emit the ``app_image`` Asset event: ``include.common.events.AppImage`` (repo_url, sha, image, tag, digest, ...).

    Give it ``outlets=[app_image]``. Skips when nothing was pushed (no event without an image).
    Writes ``published.json``.

    :param push_task_id: the task whose XCom holds the push result.
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, push_task_id: str = "push_image", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.push_task_id = push_task_id

    @step("publish")
    def execute(self, context) -> dict:
        from include.cicd.pipeline import publish_extra

        pushed = context["ti"].xcom_pull(task_ids=self.push_task_id) or {}
        if not pushed.get("pushed"):
            raise AirflowSkipException("nothing was pushed: no app_image event")
        extra = publish_extra(run_context(context), pushed)
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = extra
        self.log.info("published app_image: %s", json.dumps(extra))
        return extra
