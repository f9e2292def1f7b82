"""The image operators of cicd_build_test_scan: build before the gate, push after it, clean up.

Each reaches the builder that ``prepare`` chose for the run: buildah on this worker, a Docker
engine through the docker provider's ``DockerHook``, or build / push / clean pods through
``KubernetesPodOperator``. The work itself is in ``include.cicd.pipeline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from delivery.failures import step
from delivery.operators.cicd import log_result, run_context


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
        """The engine's APIClient (docker builder only) from the docker provider's DockerHook; None when no engine answers."""
        from airflow.providers.docker.hooks.docker import DockerHook

        if ctx.params.get("builder") != "docker":
            return None
        try:
            return DockerHook(docker_conn_id=self.docker_conn_id, base_url=ctx.params["docker_url"],
                              version="auto").get_conn()
        except Exception as exc:  # AirflowException: no engine at that URL
            self.log.warning("no Docker engine at %s: %s", ctx.params["docker_url"], exc)
            return None

    def run_pod(self, context, ctx, step_name: str, env: dict[str, str]) -> dict | None:
        """Run one image pod (``build``, ``push`` or ``clean``) with KubernetesPodOperator; its XCom dict."""
        pod = self.pod_operator(ctx, step_name, env)
        self.log.info("running the %s pod in namespace %s (image %s)", step_name, self.namespace, pod.image)
        return pod.execute(context)

    def pod_operator(self, ctx, step_name: str, env: dict[str, str]):
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
            env=env_list, volume_mounts=[mount])]), "push": ("skopeo", []), "clean": ("git", [])}[step_name]
        command = image_pod.script(step_name) if step_name != "clean" else f"rm -rf {image_pod.WORKSPACE_MOUNT}/*"
        return KubernetesPodOperator(
            task_id=self.task_id, name=f"cicd-image-{step_name}", namespace=self.namespace,
            kubernetes_conn_id=self.kubernetes_conn_id, image=image_pod.tool_image(tool), cmds=["/bin/sh", "-c", command],
            env_vars=env_list, init_containers=init, volumes=[volume], volume_mounts=[mount],
            # buildah needs to unshare and chroot inside its container (daemonless, no Docker socket).
            container_security_context=k8s.V1SecurityContext(privileged=True) if step_name == "build" else None,
            labels={"app.kubernetes.io/part-of": "airflow-delivery", "delivery/step": f"image-{step_name}"},
            do_xcom_push=step_name != "clean", get_logs=True, on_finish_action="delete_pod", **self.pod_kwargs)


class CicdImageBuildOperator(ImageBuilderOperator):
    """The ``image`` stage: build the app's image before the gate with the builder ``prepare`` chose.

    - ``buildah``: daemonless, on this worker;
    - ``docker``: the Docker engine through the docker provider's ``DockerHook``;
    - ``kubernetes``: a build pod (clone + buildah) through ``KubernetesPodOperator``; the image
      stays as an OCI archive on ``workspace_claim`` until the push.

    Arguments: see :class:`ImageBuilderOperator`.
    """

    @step("image_build")
    def execute(self, context) -> dict:
        from include.cicd.pipeline import do_image_build

        ctx = run_context(context)
        self.log.info("builder: %s (%s)", ctx.params["builder"], ctx.params.get("builder_reason"))
        res = do_image_build(ctx, docker=self.docker_client(ctx),
                             pod_build=lambda env: self.run_pod(context, ctx, "build", env))
        return log_result(self.log.info, res, ("stage", "status", "message", "builder", "tag"))


class CicdPushOperator(ImageBuilderOperator):
    """Push the built image to the registry and check the pushed digest against the registry's.

    Runs only after the gate passed. Skips (with the reason) when the image was not built. The
    push uses the builder that built the image (buildah here, the Docker engine, or a push pod);
    the pushed digest must equal the registry's (``include.cicd.image.verify_digest``).

    Arguments: see :class:`ImageBuilderOperator`.
    """

    @step("push_image")
    def execute(self, context) -> dict:
        from include.cicd.pipeline import do_push

        ctx = run_context(context)
        out = do_push(ctx, docker=self.docker_client(ctx), pod_push=lambda env: self.run_pod(context, ctx, "push", env))
        if not out.get("pushed"):
            self.log.info("image: not pushed: %s", out.get("reason"))
            raise AirflowSkipException(f"image: not pushed ({out.get('reason')})")
        self.log.info("pushed %s with %s (digest verified against the registry and skopeo)", out["reference"],
                      out.get("builder"))
        return {k: out[k] for k in ("reference", "digest", "tag", "image", "registry", "pushed")}


class CicdCleanupOperator(ImageBuilderOperator):
    """Remove the run's checkout and its local image build (reports and the env cache stay).

    With the kubernetes builder, a short pod clears the run's folder on the workspace volume.
    Arguments: see :class:`ImageBuilderOperator`.
    """

    def execute(self, context) -> None:
        from include.cicd.pipeline import cleanup

        try:
            ctx = run_context(context)
        except FileNotFoundError:
            self.log.info("nothing to clean: the params were never accepted")
            return

        def clean_pod() -> None:
            self.run_pod(context, ctx, "clean", {})
            self.log.info("cleared the run's folder on volume %s", self.workspace_claim)

        cleanup(ctx, docker=self.docker_client(ctx), pod_clean=clean_pod)
        self.log.info("removed %s", ctx.work)
