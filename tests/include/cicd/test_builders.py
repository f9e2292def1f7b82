"""Choosing the image builder, and reading what a Docker engine says it pushed."""

from __future__ import annotations

import pytest

from include.cicd.builders import resolve_builder, validate_builder
from include.cicd.image import build_args
from include.cicd.image_docker import pushed_digest
from include.common.errors import InputError

DIGEST = "sha256:" + "ab" * 32
NO_ENGINE = "unix:///nonexistent/docker.sock"


def test_an_explicit_builder_wins(monkeypatch):
    monkeypatch.setenv("DELIVERY_IMAGE_BUILDER", "docker")
    assert resolve_builder("kubernetes", NO_ENGINE)[0] == "kubernetes"
    assert resolve_builder("buildah", NO_ENGINE)[0] == "buildah"


def test_auto_takes_the_configured_builder_then_the_engine_then_buildah(monkeypatch):
    monkeypatch.setenv("DELIVERY_IMAGE_BUILDER", "kubernetes")
    assert resolve_builder("auto", NO_ENGINE) == ("kubernetes", "from $DELIVERY_IMAGE_BUILDER")
    monkeypatch.delenv("DELIVERY_IMAGE_BUILDER")
    builder, why = resolve_builder(None, NO_ENGINE)
    assert builder == "buildah" and NO_ENGINE in why  # says which engine it looked for


def test_a_bad_builder_names_the_input_and_the_choices(monkeypatch):
    with pytest.raises(InputError, match=r"builder: 'kaniko' is not an image builder.*'buildah', 'docker'"):
        validate_builder("kaniko")
    monkeypatch.setenv("DELIVERY_IMAGE_BUILDER", "dockr")
    with pytest.raises(InputError, match=r"^\$DELIVERY_IMAGE_BUILDER: 'dockr'"):
        resolve_builder("auto", NO_ENGINE)


def test_pushed_digest_from_docker_aux_or_podman_status():
    docker = [{"status": "Pushed"}, {"status": f"t1: digest: {DIGEST} size: 738"},
              {"aux": {"Tag": "t1", "Digest": DIGEST, "Size": 738}}]
    podman = [{"status": "The push refers to repository [r/app:t1]"}, {"status": f"t1: digest: {DIGEST} size: 738"}]
    assert pushed_digest(docker) == pushed_digest(podman) == DIGEST
    assert pushed_digest([{"status": "Pushed"}]) is None


def test_base_image_is_passed_only_to_a_dockerfile_that_declares_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_BASE_IMAGE", "python:3.12-slim-bookworm")
    (tmp_path / "Dockerfile").write_text("ARG BASE_IMAGE=x\nFROM ${BASE_IMAGE}\n")
    assert build_args(tmp_path) == {"BASE_IMAGE": "python:3.12-slim-bookworm"}
    (tmp_path / "Dockerfile").write_text("FROM debian:bookworm\n")
    assert build_args(tmp_path) == {}


def test_push_says_so_when_the_engine_that_built_the_image_is_gone():
    import json

    from include.cicd.pipeline import RunContext, do_push
    from include.cicd.results import write_stage

    ctx = RunContext("cicd_builders_test", "engine-gone", {"image": "demo-app", "docker_url": NO_ENGINE,
                                                           "registry": "http://127.0.0.1:5000"})
    (ctx.report / "gate.json").write_text(json.dumps({"verdict": "pass"}))
    write_stage(ctx.report, {"stage": "image", "status": "ok", "message": "built", "builder": "docker", "tag": "t1",
                             "local_ref": "localhost/demo-app:t1"})
    with pytest.raises(RuntimeError, match=r"no longer answers: nothing is pushed\. Fix: start the engine"):
        do_push(ctx, docker=None)
    assert not (ctx.report / "image.json").exists()
