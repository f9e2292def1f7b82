"""The kubernetes builder: the pods KubernetesPodOperator submits, and the scripts they run.

No kubelet can run containers here (the local cluster's nodes are kwok's), so the pods never run
in these tests. What is checked instead, each for real:

- the pod specs: the build pod clones the exact commit and builds without pushing, the push pod
  pushes the archive, both share the run's folder of the workspace volume;
- the real kube-apiserver accepts all three pods (server-side dry run: schema and admission);
- the very scripts the pods run (include/cicd/pod/*.sh) clone, build and push with the local
  buildah and skopeo, and the digest they report equals the registry's.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from include.cicd import image_pod
from include.cicd.pipeline import RunContext

SHA = "0123456789abcdef0123456789abcdef01234567"
RUN_ID = "manual__2026-11-27T00:00:00+00:00"


def _ctx() -> RunContext:
    return RunContext("cicd_build_test_scan", RUN_ID, {"builder": "kubernetes", "image": "demo-app"})


def _pod(step: str, env: dict[str, str]):
    from delivery.operators.cicd_image import CicdImageBuildOperator

    op = CicdImageBuildOperator(task_id="image_build", namespace="builds", workspace_claim="cicd-ws")
    return op.pod_operator(_ctx(), step, env).build_pod_request_obj(dry_run=True)


def _env(container) -> dict[str, str]:
    return {e.name: e.value for e in container.env or []}


def test_build_pod_clones_the_exact_commit_and_builds_without_pushing():
    env = image_pod.build_env(image_pod.WORKSPACE_MOUNT, "https://git.example.com/app.git", SHA, "demo-app", SHA[:12])
    pod = _pod("build", env)
    (clone,) = pod.spec.init_containers
    assert _env(clone)["SHA"] == SHA and _env(clone)["REPO"] == "https://git.example.com/app.git"
    assert clone.command[-1] == image_pod.script("clone")
    base = next(c for c in pod.spec.containers if c.name == "base")
    assert base.image == image_pod.tool_image("buildah") and base.security_context.privileged is True
    assert base.args == [] or base.args is None
    assert base.command[-1] == image_pod.script("build")
    assert "DEST" not in _env(base) and "docker://" not in image_pod.script("build")  # no push before the gate
    assert _env(base)["ARCHIVE"] == f"/workspace/image-{SHA[:12]}.tar"
    (volume,) = [v for v in pod.spec.volumes if v.name == "workspace"]
    assert volume.persistent_volume_claim.claim_name == "cicd-ws"
    for container in (clone, base):
        (mount,) = [m for m in container.volume_mounts if m.name == "workspace"]
        assert mount.sub_path == "manual__2026-11-27T00_00_00_00_00" and mount.mount_path == "/workspace"
    assert any(c.name == "airflow-xcom-sidecar" for c in pod.spec.containers)  # the result comes back as XCom


def test_push_pod_copies_the_archive_to_the_registry():
    pod = _pod("push", image_pod.push_env(image_pod.WORKSPACE_MOUNT, "team/demo-app", "abc123", "http://127.0.0.1:5000"))
    base = next(c for c in pod.spec.containers if c.name == "base")
    assert base.image == image_pod.tool_image("skopeo") and not pod.spec.init_containers
    assert _env(base) == {"ARCHIVE": "/workspace/image-abc123.tar", "DEST": "127.0.0.1:5000/team/demo-app:abc123",
                          "TLS_VERIFY": "false"}
    assert base.security_context is None or not base.security_context.privileged
    https = image_pod.push_env(image_pod.WORKSPACE_MOUNT, "app", "t", "https://registry.example.com")
    assert https["TLS_VERIFY"] == "true" and https["DEST"] == "registry.example.com/app:t"


@pytest.mark.k8s
def test_the_api_server_accepts_the_image_pods(k8s_client, k8s_namespace):
    from kubernetes import client

    core = client.CoreV1Api(k8s_client)
    envs = {"build": image_pod.build_env(image_pod.WORKSPACE_MOUNT, "https://git.example.com/app.git", SHA, "demo-app",
                                         SHA[:12]),
            "push": image_pod.push_env(image_pod.WORKSPACE_MOUNT, "demo-app", SHA[:12], "http://registry:5000"),
            "clean": {}}
    for step, env in envs.items():
        body = k8s_client.sanitize_for_serialization(_pod(step, env))
        body["metadata"]["namespace"] = k8s_namespace
        created = core.create_namespaced_pod(k8s_namespace, body, dry_run="All")
        assert created.metadata.labels["delivery/step"] == f"image-{step}"
        assert {c.name for c in created.spec.containers} >= {"base"}
    assert core.list_namespaced_pod(k8s_namespace).items == []  # a dry run creates nothing


@pytest.mark.image
@pytest.mark.slow
def test_pod_scripts_build_and_push_with_the_local_tools(oci_registry, image_builder, tmp_path):
    """clone.sh, build.sh and push.sh, run here as the pods would run them, push a verified image."""
    from include.cicd import demo
    from include.cicd.image import buildah_env, image_home, manifest_digest

    seeded = demo.seed()
    tag = seeded["sha"][:12]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    storage_conf = tmp_path / "storage.conf"  # the pod's buildah uses its default storage; here, ours
    storage_conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{image_home() / "storage"}"\n'
                            f'runroot = "{image_home() / "run"}"\n')
    xcom = tmp_path / "xcom" / "return.json"
    base = buildah_env() | {"CONTAINERS_STORAGE_CONF": str(storage_conf), "XCOM_FILE": str(xcom)}

    def sh(step: str, env: dict[str, str]) -> dict:
        proc = subprocess.run(["/bin/sh", "-c", image_pod.script(step)], env=base | env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, f"{step}.sh: {proc.stderr[-1500:]}"
        return json.loads(xcom.read_text()) if step != "clone" else {}

    build_env = image_pod.build_env(str(workspace), seeded["repo_url"], seeded["sha"], "cicd-e2e/pod-app", tag)
    sh("clone", build_env)
    built = sh("build", build_env)
    assert built["archive"] == build_env["ARCHIVE"] and os.path.getsize(built["archive"]) > 10_000_000
    pushed = sh("push", image_pod.push_env(str(workspace), "cicd-e2e/pod-app", tag, oci_registry))
    assert pushed["digest"] == manifest_digest(oci_registry, "cicd-e2e/pod-app", tag)
    verified = image_pod.verify_push(pushed, "cicd-e2e/pod-app", tag, oci_registry)
    assert verified["verified"] is True and verified["reference"].endswith(f":{tag}@{pushed['digest']}")
    wrong = {"digest": "sha256:" + "0" * 64}  # a digest the registry does not hold for the tag
    with pytest.raises(RuntimeError, match="digest mismatch"):
        image_pod.verify_push(wrong, "cicd-e2e/pod-app", tag, oci_registry)


@pytest.fixture
def pods_run_here(tmp_path, monkeypatch, image_builder):
    """Replace only the kubelet: each image pod's script runs here (buildah, skopeo), in a folder per run.

    Yields the list of pod steps run, in order.
    """
    from delivery.operators.cicd_image import ImageBuilderOperator
    from include.cicd.image import buildah_env, image_home

    monkeypatch.setattr(image_pod, "check_repo_for_pod", lambda repo: None)  # the "pods" clone a local repo here
    storage_conf = tmp_path / "storage.conf"
    storage_conf.write_text(f'[storage]\ndriver = "vfs"\ngraphroot = "{image_home() / "storage"}"\n'
                            f'runroot = "{image_home() / "run"}"\n')
    steps: list[str] = []

    def run_here(self, context, ctx, step, env):
        self.pod_operator(ctx, step, env).build_pod_request_obj(dry_run=True)  # the pod it would submit
        steps.append(step)
        volume = tmp_path / "pvc" / image_pod.run_folder(ctx.run_id)  # the run's sub-folder of the PVC
        volume.mkdir(parents=True, exist_ok=True)
        local = {k: v.replace(image_pod.WORKSPACE_MOUNT, str(volume)) for k, v in env.items()}
        xcom = volume.parent / "xcom.json"
        base = buildah_env() | {"CONTAINERS_STORAGE_CONF": str(storage_conf), "XCOM_FILE": str(xcom),
                                "WORKSPACE": str(volume)}
        for name in {"build": ["clone", "build"], "push": ["push"]}.get(step, []):
            proc = subprocess.run(["/bin/sh", "-c", image_pod.script(name)], env=base | local, capture_output=True,
                                  text=True, timeout=900)
            if proc.returncode != 0:
                raise RuntimeError(f"pod {step} failed: {proc.stderr[-500:]}")
        if step == "clean":
            subprocess.run(["rm", "-rf", str(volume)], check=True)
            return None
        return json.loads(xcom.read_text())

    monkeypatch.setattr(ImageBuilderOperator, "run_pod", run_here)
    yield steps


@pytest.mark.airflow
@pytest.mark.image
@pytest.mark.slow
def test_kubernetes_builder_through_the_dag(airflow_db, oci_registry, pods_run_here, tmp_path):
    """The whole DAG with builder=kubernetes: build pod before the gate, push pod after it, clean pod last."""
    from dag_runner import run_dag
    from include.cicd import demo
    from include.cicd.image import manifest_digest
    from include.common.paths import report_dir

    seeded = demo.seed()
    image = "cicd-e2e/k8s-app"
    result = run_dag("cicd_build_test_scan", {"image": image, "builder": "kubernetes", "stages": ["image"]})
    assert result.state == "success", result.task_states
    assert pods_run_here == ["build", "push", "clean"]
    report = report_dir("cicd_build_test_scan", result.run_id)
    built = json.loads((report / "stages" / "image.json").read_text())
    assert built["builder"] == "kubernetes" and built["archive"].endswith(f"image-{seeded['sha'][:12]}.tar")
    pushed = json.loads((report / "image.json").read_text())
    assert pushed["builder"] == "kubernetes" and pushed["verified"] is True
    assert pushed["digest"] == manifest_digest(oci_registry, image, seeded["sha"][:12])
    assert not (tmp_path / "pvc" / image_pod.run_folder(result.run_id)).exists()  # cleared by the clean pod


@pytest.mark.airflow
@pytest.mark.image
@pytest.mark.slow
def test_kubernetes_builder_runs_no_push_pod_when_the_gate_fails(airflow_db, oci_registry, pods_run_here):
    from dag_runner import run_dag
    from include.cicd import demo
    from include.cicd.image import list_tags

    made = demo.make_variant("bandit-high")
    image = "cicd-e2e/k8s-gated"
    result = run_dag("cicd_build_test_scan", {"revision": made["revision"], "image": image, "builder": "kubernetes",
                                              "stages": ["sast", "image"]})
    assert result.state == "failed" and result.task_states["gate"] == "failed"
    assert pods_run_here == ["build", "clean"]  # built, never pushed
    assert list_tags(oci_registry, image) == []
