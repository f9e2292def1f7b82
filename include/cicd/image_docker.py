"""The ``image`` stage through a Docker Engine API (the docker provider's builder).

Used when a Docker engine answers: the docker-compose stack (a Docker-in-Docker service) or
any machine with ``DOCKER_HOST`` / ``/var/run/docker.sock``. The client is a ``docker.APIClient``;
the Airflow glue gets it from the docker provider's ``DockerHook`` (registry login included).

Same contract as the buildah builder (include/cicd/image.py): build before the gate (local,
reversible), push after it, and trust the digest the engine reports for the push only once it
equals the registry's manifest digest.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from include.cicd.image import build_args, local_ref, registry_host, registry_reachable, verify_digest
from include.cicd.results import Status, result
from include.common.reports import write_report

BUILDER = "docker"
_PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def docker_url() -> str:
    """Where the Docker engine listens: ``$DOCKER_HOST``, else the default socket (as DockerOperator)."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def engine_answers(url: str, timeout: float = 3) -> tuple[bool, str]:
    """(True, version) when a Docker Engine API answers at ``url``, else (False, why)."""
    import docker

    try:
        client = docker.APIClient(base_url=url, version="auto", timeout=timeout)
        version = client.version()
    except Exception as exc:  # DockerException, requests errors, missing socket
        return False, f"no Docker engine answers at {url} ({type(exc).__name__}: {str(exc)[:200]})"
    return True, f"Docker Engine API {version.get('ApiVersion')} at {url}"


def _stream_error(chunks: list[dict]) -> str | None:
    for chunk in chunks:
        if chunk.get("error") or chunk.get("errorDetail"):
            return str(chunk.get("error") or chunk["errorDetail"].get("message")).strip()
    return None


def build(client, checkout: Path, image: str, tag: str, report: Path, registry: str) -> dict:
    """Build (not push) ``image:tag`` from the checkout's Dockerfile with the engine behind ``client``."""
    if not (checkout / "Dockerfile").exists():
        return result("image", Status.FAILED, "the repository has no Dockerfile at its root", builder=BUILDER)
    ok, reach = registry_reachable(registry)
    if not ok:
        return result("image", Status.FAILED, f"image not buildable for push: {reach}", builder=BUILDER)
    ref = local_ref(image, tag)
    start = time.monotonic()
    # pull=False: the base image is whatever the engine has or BASE_IMAGE names; network_mode host
    # lets RUN steps reach the same package index as the pipeline.
    chunks = list(client.build(path=str(checkout), tag=ref, rm=True, forcerm=True, decode=True, pull=False,
                               buildargs=build_args(checkout), network_mode="host"))
    seconds = time.monotonic() - start
    write_report(report, "image-build.log", "".join(str(c.get("stream") or c.get("status") or c) for c in chunks))
    error = _stream_error(chunks)
    if error:
        return result("image", Status.FAILED, f"docker build failed: {error[-400:]}", builder=BUILDER,
                      files={"log": "image-build.log"})
    image_id = client.inspect_image(ref)["Id"]
    return result("image", Status.OK, f"built {ref} with the Docker engine in {seconds:.1f} s", builder=BUILDER,
                  local_ref=ref, image_id=image_id, tag=tag, seconds=round(seconds, 2), files={"log": "image-build.log"})


def push(client, local: str, image: str, tag: str, registry: str) -> dict:
    """Tag ``local`` as ``<registry>/<image>:<tag>``, push it, verify the digest; {reference, digest, ...}."""
    repository = f"{registry_host(registry)}/{image}"
    start = time.monotonic()
    client.tag(local, repository, tag)
    chunks = list(client.push(repository, tag=tag, stream=True, decode=True))
    seconds = time.monotonic() - start
    error = _stream_error(chunks)
    if error:
        raise RuntimeError(f"docker push to {repository}:{tag} failed: {error[-400:]}")
    pushed = pushed_digest(chunks)
    if not pushed:
        raise RuntimeError(f"docker push to {repository}:{tag} reported no digest: {chunks[-3:]}")
    return verify_digest(registry, image, tag, pushed) | {"reference": f"{repository}:{tag}@{pushed}",
                                                          "seconds": round(seconds, 2)}


def pushed_digest(chunks: list[dict]) -> str | None:
    """The digest from a push stream: Docker sends ``aux.Digest``; both Docker and podman a status line."""
    for chunk in chunks:
        aux = chunk.get("aux") or {}
        if aux.get("Digest"):
            return aux["Digest"]
    for chunk in chunks:
        m = _PUSHED_DIGEST.search(str(chunk.get("status") or ""))
        if m:
            return m.group(1)
    return None


def remove(client, local: str) -> None:
    try:
        client.remove_image(local, force=True)
    except Exception:  # already gone, or the engine went away: nothing left to clean
        pass
