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
    :param builder: image builder, ``auto`` / ``buildah`` / ``docker`` / ``kubernetes``. (templated)
    :param oci_registry_conn_id: registry connection (default ``oci_registry_default``).
    :param docker_url: Docker engine for the docker builder (default ``$DOCKER_HOST``, else the local socket).
    """

    template_fields: Sequence[str] = ("repo", "ref", "image", "policy", "stages", "builder")

    def __init__(self, *, repo: str, ref: str, image: str, policy: str, stages: Any, builder: str = "auto",
                 oci_registry_conn_id: str = OciRegistryHook.default_conn_name, docker_url: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.repo, self.ref, self.image, self.policy, self.stages = repo, ref, image, policy, stages
        self.builder, self.docker_url = builder, docker_url
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
            "registry": registry, "builder": self.builder}, docker_url=self.docker_url)
        self.log.info("params OK: %s", json.dumps(ctx.params))
        self.log.info("image builder: %s (%s)", ctx.params["builder"], ctx.params["builder_reason"])
        self.log.info("report folder: %s", ctx.report)
        return ctx.params


class CicdStageOperator(BaseOperator):
    """Run one stage on the worker: ``checkout``, ``env``, ``test``, ``sast``, ``secrets``, ``audit``, ``sbom``, ``build``.

    (The image stage has its own operator, :class:`CicdImageBuildOperator`, which picks the builder.)

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


class ImageBuilderOperator(BaseOperator):
    """Base of the image tasks: how they reach their builder, the Docker engine or the cluster.

    :param docker_conn_id: docker provider connection used to log in to the registry before a
        push (None: push without login, as to the local registry).
    :param kubernetes_conn_id: cluster for the kubernetes builder (None: in-cluster config).
    :param namespace: namespace of the build and push pods.
    :param workspace_claim: PersistentVolumeClaim the build pod leaves the image archive on for the
        push pod (one sub-folder per run).
    :param pod_kwargs: more KubernetesPodOperator arguments for the pods (node_selector,
        service_account_name, container_resources, ...).
    """

    template_fields: Sequence[str] = ()

    def __init__(self, *, docker_conn_id: str | None = None, kubernetes_conn_id: str | None = "kubernetes_default",
                 namespace: str = "default", workspace_claim: str = "cicd-workspace", pod_kwargs: dict | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.docker_conn_id, self.kubernetes_conn_id = docker_conn_id, kubernetes_conn_id
        self.namespace, self.workspace_claim, self.pod_kwargs = namespace, workspace_claim, pod_kwargs or {}

    def docker_client(self, ctx):
        """The engine's APIClient from the docker provider's DockerHook, or None when no engine answers."""
        from airflow.providers.docker.hooks.docker import DockerHook

        try:
            return DockerHook(docker_conn_id=self.docker_conn_id, base_url=ctx.params["docker_url"],
                              version="auto").get_conn()
        except Exception as exc:  # AirflowException: no engine at that URL
            self.log.warning("no Docker engine at %s: %s", ctx.params["docker_url"], exc)
            return None

    def run_pod(self, context, ctx, step: str, env: dict[str, str]) -> dict | None:
        """Run one image pod (``build``, ``push`` or ``clean``) with KubernetesPodOperator; its XCom dict."""
        pod = self.pod_operator(ctx, step, env)
        self.log.info("running the %s pod in namespace %s (image %s)", step, self.namespace, pod.image)
        return pod.execute(context)

    def pod_operator(self, ctx, step: str, env: dict[str, str]):
        """The KubernetesPodOperator for one image step: ``build`` (clone + buildah), ``push`` (skopeo), ``clean``."""
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from kubernetes.client import models as k8s

        from include.cicd import image_pod

        volume = k8s.V1Volume(name="workspace", persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
            claim_name=self.workspace_claim))
        mount = k8s.V1VolumeMount(name="workspace", mount_path=image_pod.WORKSPACE_MOUNT,
                                  sub_path=image_pod.run_folder(ctx.run_id))
        env_list = [k8s.V1EnvVar(name=k, value=v) for k, v in env.items()]
        tool, init = {"build": ("buildah", [k8s.V1Container(
            name="clone", image=image_pod.tool_image("git"), command=["/bin/sh", "-c", image_pod.script("clone")],
            env=env_list, volume_mounts=[mount])]), "push": ("skopeo", []), "clean": ("git", [])}[step]
        command = image_pod.script(step) if step != "clean" else f"rm -rf {image_pod.WORKSPACE_MOUNT}/*"
        return KubernetesPodOperator(
            task_id=self.task_id, name=f"cicd-image-{step}", namespace=self.namespace,
            kubernetes_conn_id=self.kubernetes_conn_id, image=image_pod.tool_image(tool), cmds=["/bin/sh", "-c", command],
            env_vars=env_list, init_containers=init, volumes=[volume], volume_mounts=[mount],
            # buildah needs to unshare and chroot inside its container (daemonless, no Docker socket).
            container_security_context=k8s.V1SecurityContext(privileged=True) if step == "build" else None,
            labels={"app.kubernetes.io/part-of": "airflow-delivery", "delivery/step": f"image-{step}"},
            do_xcom_push=step != "clean", get_logs=True, on_finish_action="delete_pod", **self.pod_kwargs)


class CicdImageBuildOperator(ImageBuilderOperator):
    """The ``image`` stage: build the app's image before the gate with the builder ``prepare`` chose.

    - ``buildah``: daemonless, on this worker;
    - ``docker``: the Docker engine through the docker provider's ``DockerHook``;
    - ``kubernetes``: a build pod (clone + buildah) through ``KubernetesPodOperator``; the image
      stays as an OCI archive on ``workspace_claim`` until the push.

    Arguments: see :class:`ImageBuilderOperator`.
    """

    @_input_errors
    def execute(self, context) -> dict:
        from include.cicd import pipeline

        ctx = _ctx(context)
        builder = ctx.params["builder"]
        self.log.info("builder: %s (%s)", builder, ctx.params.get("builder_reason"))
        res = pipeline.do_image_build(
            ctx, docker=self.docker_client(ctx) if builder == "docker" else None,
            pod_build=lambda env: self.run_pod(context, ctx, "build", env))
        for line in pipeline.log_summary(res).splitlines():
            self.log.info("%s", line)
        return {k: res[k] for k in ("stage", "status", "message", "builder", "tag") if k in res}


class CicdPushOperator(ImageBuilderOperator):
    """Push the built image to the registry and check the pushed digest against the registry's.

    Runs only after the gate passed. Skips (with the reason) when the image was not built. The
    push uses the builder that built the image (buildah here, the Docker engine, or a push pod);
    the pushed digest must equal the registry's (``include.cicd.image.verify_digest``).

    Arguments: see :class:`ImageBuilderOperator`.
    """

    def execute(self, context) -> dict:
        from include.cicd import image_pod
        from include.cicd.pipeline import do_push

        ctx = _ctx(context)
        docker = self.docker_client(ctx) if ctx.params.get("builder") == "docker" else None
        out = do_push(ctx, docker=docker, pod_push=lambda built: self.run_pod(
            context, ctx, "push", image_pod.push_env(image_pod.WORKSPACE_MOUNT, ctx.params["image"], built["tag"],
                                                     ctx.registry)))
        if not out.get("pushed"):
            self.log.info("image: not pushed: %s", out.get("reason"))
            raise AirflowSkipException(f"image: not pushed ({out.get('reason')})")
        self.log.info("pushed %s with %s (digest verified against the registry and skopeo)", out["reference"],
                      out.get("builder"))
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


class CicdCleanupOperator(ImageBuilderOperator):
    """Remove the run's checkout and its local image build (reports and the env cache stay).

    With the kubernetes builder, a short pod clears the run's folder on the workspace volume.
    Arguments: see :class:`ImageBuilderOperator`.
    """

    def execute(self, context) -> None:
        from include.cicd.pipeline import cleanup

        try:
            ctx = _ctx(context)
        except FileNotFoundError:
            self.log.info("nothing to clean: the params were never accepted")
            return
        builder = ctx.params.get("builder")
        cleanup(ctx, docker=self.docker_client(ctx) if builder == "docker" else None)
        self.log.info("removed %s", ctx.work)
        stage = ctx.report / "stages" / "image.json"
        if builder == "kubernetes" and stage.exists() and json.loads(stage.read_text()).get("builder") == "kubernetes":
            self.run_pod(context, ctx, "clean", {})
            self.log.info("cleared the run's folder on volume %s", self.workspace_claim)
