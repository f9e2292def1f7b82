"""Which image builder a run uses: ``docker``, ``buildah`` or ``kubernetes``.

- ``docker``: a Docker Engine API (the docker provider; the compose stack's Docker-in-Docker);
- ``kubernetes``: a build pod started by KubernetesPodOperator (buildah inside the pod), for
  Airflow running in a cluster;
- ``buildah``: daemonless on the worker itself (this machine: no Docker engine, no kubelet).

``auto`` takes ``$DELIVERY_IMAGE_BUILDER`` when set (the compose stack sets ``docker``), else
``docker`` when an engine answers, else ``buildah``. It is resolved once, by ``prepare``, so every
task of a run agrees on it.
"""

from __future__ import annotations

import os

from include.common.errors import InputError

BUILDERS = ("auto", "buildah", "docker", "kubernetes")


def validate_builder(requested: str | None) -> str:
    builder = (requested or "auto").strip().lower()
    if builder not in BUILDERS:
        raise InputError("builder", f"{requested!r} is not an image builder", f"use one of {list(BUILDERS)}")
    return builder


def resolve_builder(requested: str | None, docker_url: str) -> tuple[str, str]:
    """(builder, why) for the run; ``auto`` looks at ``$DELIVERY_IMAGE_BUILDER``, then the Docker engine."""
    builder = validate_builder(requested)
    if builder != "auto":
        return builder, "asked for by the `builder` param"
    configured = os.environ.get("DELIVERY_IMAGE_BUILDER", "").strip().lower()
    if configured and configured != "auto":
        try:
            return validate_builder(configured), "from $DELIVERY_IMAGE_BUILDER"
        except InputError as exc:
            raise InputError("$DELIVERY_IMAGE_BUILDER", exc.problem, exc.fix) from exc
    from include.cicd.image_docker import engine_answers

    ok, why = engine_answers(docker_url)
    if ok:
        return "docker", why
    return "buildah", f"daemonless ({why})"
