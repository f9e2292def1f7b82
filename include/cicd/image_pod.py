"""The ``image`` stage in a cluster: what the build pod and the push pod run (KubernetesPodOperator).

Two pods share a workspace volume (a PersistentVolumeClaim), one sub-folder per DAG run:

1. **build** (before the gate): an init container clones the exact commit (pod/clone.sh), then
   buildah builds the Dockerfile and saves the image as an OCI archive (pod/build.sh);
2. **push** (only after the gate passed): skopeo copies the archive to the registry and reports
   the digest it pushed (pod/push.sh); Airflow then checks it against the registry's manifest.

Both report through KubernetesPodOperator's XCom file (/airflow/xcom/return.json). The scripts
are plain sh, so the same files run here against the local buildah/skopeo in the tests.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from include.common.errors import InputError
from include.cicd.image import base_image, local_ref, registry_host, verify_digest
from include.cicd.results import Status, result

SCRIPTS = Path(__file__).parent / "pod"
WORKSPACE_MOUNT = "/workspace"
DEFAULT_IMAGES = {
    "git": "docker.io/alpine/git:v2.47.2",
    "buildah": "quay.io/buildah/stable:v1.42.2",
    "skopeo": "quay.io/skopeo/stable:v1.17.0",
}


def tool_image(tool: str) -> str:
    """The image a pod step runs: ``$DELIVERY_POD_IMAGE_<TOOL>`` or the pinned default."""
    return os.environ.get(f"DELIVERY_POD_IMAGE_{tool.upper()}", DEFAULT_IMAGES[tool])


def script(name: str) -> str:
    return (SCRIPTS / f"{name}.sh").read_text()


def run_folder(run_id: str) -> str:
    """The run's sub-folder of the workspace volume (run ids hold ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


def archive_path(workspace: str, tag: str) -> str:
    return f"{workspace}/image-{tag}.tar"


def build_env(workspace: str, repo_url: str, sha: str, image: str, tag: str) -> dict[str, str]:
    """Environment of the clone + build containers."""
    return {"WORKSPACE": workspace, "REPO": repo_url, "SHA": sha, "LOCAL_REF": local_ref(image, tag),
            "ARCHIVE": archive_path(workspace, tag), "BASE_IMAGE": base_image()}


def push_env(workspace: str, image: str, tag: str, registry: str) -> dict[str, str]:
    """Environment of the push container; TLS is verified unless the registry URL is plain http."""
    return {"ARCHIVE": archive_path(workspace, tag), "DEST": f"{registry_host(registry)}/{image}:{tag}",
            "TLS_VERIFY": "false" if registry.startswith("http://") else "true"}


def check_repo_for_pod(repo_url: str) -> None:
    """A build pod clones the repo itself: a path on the Airflow worker is out of its reach."""
    if repo_url.startswith("file://") or repo_url.startswith("/"):
        raise InputError("repo_url", f"{repo_url} is a path on the Airflow worker, which a build pod cannot clone",
                         "give an http(s):// or ssh:// URL the cluster reaches, or set builder to buildah or docker")


def build_in_pod(run_pod, env: dict[str, str], tag: str) -> dict:
    """Run the build pod (``run_pod(env)`` returns its XCom dict) and turn the outcome into the stage result."""
    try:
        out = run_pod(env) or {}
    except Exception as exc:  # the pod failed, timed out or never started: the gate reports it
        return result("image", Status.FAILED, f"build pod failed: {str(exc)[-400:]}", builder="kubernetes", tag=tag)
    if not out.get("archive"):
        return result("image", Status.FAILED, f"build pod reported no image archive: {out}", builder="kubernetes", tag=tag)
    return result("image", Status.OK, f"built {env['LOCAL_REF']} in a build pod in {out.get('seconds')} s",
                  builder="kubernetes", tag=tag, local_ref=env["LOCAL_REF"], archive=out["archive"],
                  image_id=out.get("image_id"), seconds=out.get("seconds"))


def verify_push(pushed: dict, image: str, tag: str, registry: str) -> dict:
    """The push pod's XCom ({digest, seconds}) checked against the registry, as the other builders' pushes."""
    return verify_digest(registry, image, tag, pushed["digest"]) | {
        "reference": f"{registry_host(registry)}/{image}:{tag}@{pushed['digest']}", "seconds": pushed.get("seconds")}
