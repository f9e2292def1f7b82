"""Thin operators over include/cicd: each one runs one pipeline stage for the DAG run.

The stages share a per-run work folder and report folder, both derived from (dag_id, run_id),
so no operator passes paths through XCom. Every operator logs a human summary of its stage.
Bad input (``InputError``) fails the task at once, without retries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from delivery.hooks.registry import OciRegistryHook


def _ctx(context):
    from include.cicd.pipeline import load_context

    return load_context(context["dag"].dag_id, context["run_id"])


def _input_errors(fn):
    """Turn InputError (a bad param, repo or ref) into a failure that is not retried."""
    def wrapper(self, context, *args, **kwargs):
        from include.common.errors import InputError

        try:
            return fn(self, context, *args, **kwargs)
        except InputError as exc:
            from include.common.paths import report_dir

            # The report folder says why the run stopped, next to where its results would be.
            (report_dir(context["dag"].dag_id, context["run_id"]) / "error.txt").write_text(f"{self.task_id}: {exc}\n")
            raise AirflowFailException(str(exc)) from exc
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


class CicdPrepareOperator(BaseOperator):
    """Validate the run's params (repo, ref, image, policy, stages) before anything runs.

    Writes ``params.json`` to the run's report folder; returns the validated params.

    :param repo: repository URL. (templated)
    :param ref: branch, tag or commit. (templated)
    :param image: image repository name. (templated)
    :param policy: gate policy name or path. (templated)
    :param stages: stages to run. (templated)
    :param oci_registry_conn_id: registry connection (default ``oci_registry_default``).
    """

    template_fields: Sequence[str] = ("repo", "ref", "image", "policy", "stages")

    def __init__(self, *, repo: str, ref: str, image: str, policy: str, stages: Any,
                 oci_registry_conn_id: str = OciRegistryHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo, self.ref, self.image, self.policy, self.stages = repo, ref, image, policy, stages
        self.oci_registry_conn_id = oci_registry_conn_id

    @_input_errors
    def execute(self, context) -> dict:
        from include.cicd.pipeline import prepare

        stages = self.stages
        if isinstance(stages, str):  # a templated list renders to its repr
            import ast

            stages = ast.literal_eval(stages) if stages.strip().startswith("[") else [s.strip() for s in stages.split(",")]
        registry = OciRegistryHook(self.oci_registry_conn_id).url
        ctx = prepare(context["dag"].dag_id, context["run_id"], {
            "repo": self.repo, "ref": self.ref, "image": self.image, "policy": self.policy, "stages": stages,
            "registry": registry})
        self.log.info("params OK: %s", json.dumps(ctx.params))
        self.log.info("report folder: %s", ctx.report)
        return ctx.params


class CicdStageOperator(BaseOperator):
    """Run one stage (``checkout``, ``env``, ``test``, ``sast``, ``secrets``, ``audit``, ``sbom``, ``build``, ``image``).

    The stage's result goes to ``<report>/stages/<stage>.json``; the task succeeds when the stage
    ran (findings are judged by the gate), and fails when it could not run at all.

    :param stage: stage name.
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, stage: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage = stage

    @_input_errors
    def execute(self, context) -> dict:
        from include.cicd import pipeline

        ctx = _ctx(context)
        funcs = {"checkout": pipeline.do_checkout, "env": pipeline.do_env, **pipeline.STAGE_FUNCS}
        res = funcs[self.stage](ctx)
        for line in pipeline.log_summary(res).splitlines():
            self.log.info("%s", line)
        # XCom keeps the small part only; the report folder has everything.
        return {k: res[k] for k in ("stage", "status", "message", "counts", "sha", "digest") if k in res}


class CicdGateOperator(BaseOperator):
    """Apply the gate policy to every stage result; fail (no retry) when the verdict is ``fail``.

    Writes ``gate.json``, ``summary.md`` and ``summary.html`` to the report folder.
    """

    template_fields: Sequence[str] = ()

    @_input_errors
    def execute(self, context) -> dict:
        from include.cicd.pipeline import do_gate

        ctx = _ctx(context)
        verdict = do_gate(ctx)
        self.log.info("gate verdict: %s (policy %s)", verdict["verdict"].upper(), verdict["policy"])
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


class CicdPushOperator(BaseOperator):
    """Push the built image to the registry and check the pushed digest against the registry's.

    Runs only after the gate passed. Skips (with the reason) when the image was not built.

    :param oci_registry_conn_id: registry connection (default ``oci_registry_default``).
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, oci_registry_conn_id: str = OciRegistryHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oci_registry_conn_id = oci_registry_conn_id

    def execute(self, context) -> dict:
        from include.cicd.pipeline import do_push

        ctx = _ctx(context)
        out = do_push(ctx)
        if not out.get("pushed"):
            self.log.info("image: not pushed: %s", out.get("reason"))
            raise AirflowSkipException(f"image: not pushed ({out.get('reason')})")
        hook = OciRegistryHook(self.oci_registry_conn_id, url=ctx.registry)
        registry_digest = hook.manifest_digest(out["image"], out["tag"])
        if registry_digest != out["digest"]:
            raise AirflowFailException(f"registry holds {registry_digest} for {out['image']}:{out['tag']}, "
                                       f"but {out['digest']} was pushed")
        self.log.info("pushed %s (digest verified against the registry and skopeo)", out["reference"])
        return {k: out[k] for k in ("reference", "digest", "tag", "image", "registry", "pushed")}


class CicdPublishOperator(BaseOperator):
    """Emit the ``app_image`` Asset event with extra {repo, commit, tag, digest, report}.

    Give it ``outlets=[app_image]``. Skips when nothing was pushed (no event without an image).

    :param push_task_id: the task whose XCom holds the push result.
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, push_task_id: str = "push_image", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.push_task_id = push_task_id

    def execute(self, context) -> dict:
        from include.cicd.pipeline import publish_extra

        ctx = _ctx(context)
        pushed = context["ti"].xcom_pull(task_ids=self.push_task_id) or {}
        if not pushed.get("pushed"):
            raise AirflowSkipException("nothing was pushed: no app_image event")
        extra = publish_extra(ctx, pushed)
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = extra
        (ctx.report / "published.json").write_text(json.dumps(extra, indent=2))
        self.log.info("published app_image: %s", json.dumps(extra))
        return extra


class CicdCleanupOperator(BaseOperator):
    """Remove the run's checkout and its local image build (reports and the env cache stay)."""

    template_fields: Sequence[str] = ()

    def execute(self, context) -> None:
        from include.cicd.pipeline import cleanup

        try:
            ctx = _ctx(context)
        except FileNotFoundError:
            self.log.info("nothing to clean: the params were never accepted")
            return
        cleanup(ctx)
        self.log.info("removed %s", ctx.work)
