"""End-to-end runs of cicd_build_test_scan (and cicd_watch_branch) with dag.test().

The clean demo app passes the gate and its image is pushed to the local registry with the
recorded digest equal to the registry's; each failing variant stops at its stage with nothing
pushed; bad params stop before anything runs; the env cache is reused.
"""

from __future__ import annotations

import json

import pytest

from dag_runner import run_dag
from include.cicd import demo
from include.cicd.image import list_tags, manifest_digest
from include.common.events import AppImage
from include.common.paths import report_dir

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
DAG = "cicd_build_test_scan"
SCAN_STAGES = ("checkout", "env", "test", "sast", "secrets", "audit", "sbom", "build", "image_build")


def stage(run_id: str, name: str) -> dict:
    return json.loads((report_dir(DAG, run_id) / "stages" / f"{name}.json").read_text())


@pytest.mark.image
def test_clean_app_passes_the_gate_and_its_image_is_pushed(airflow_db, oci_registry, image_builder):
    seeded = demo.seed()
    result = run_dag(DAG, {"image": "cicd-e2e/demo-app"})
    assert result.state == "success", result.task_states
    assert all(result.task_states[t] == "success" for t in (*SCAN_STAGES, "gate", "push_image", "publish"))
    report = report_dir(DAG, result.run_id)
    gate = json.loads((report / "gate.json").read_text())
    assert gate["verdict"] in ("pass", "warn") and gate["failed_stages"] == []
    image = json.loads((report / "image.json").read_text())
    tag = seeded["sha"][:12]
    assert image["tag"] == tag and image["verified"] is True
    assert image["digest"] == manifest_digest(oci_registry, "cicd-e2e/demo-app", tag)
    published = json.loads((report / "published.json").read_text())
    assert AppImage.from_extra(published) == AppImage(
        repo_url=seeded["repo_url"], sha=seeded["sha"], image=published["image"], tag=tag, digest=image["digest"],
        reference=published["reference"], report_dir=str(report))
    # the full repository a kubelet pulls: registry host, name, tag and digest
    host = oci_registry.split("://", 1)[-1].rstrip("/")
    assert published["image"] == f"{host}/cicd-e2e/demo-app"
    assert published["reference"] == f"{host}/cicd-e2e/demo-app:{tag}@{image['digest']}"
    for name in ("junit.xml", "coverage.xml", "bandit.sarif", "semgrep.sarif", "sbom.cdx.json", "summary.md", "summary.html"):
        assert (report / name).is_file(), name
    _assert_asset_event(result.run_id, image["digest"])


def _assert_asset_event(run_id: str, digest: str) -> None:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                                 .where(AssetModel.name == "app_image", AssetEvent.source_run_id == run_id)).all()
        assert [AppImage.from_extra(e.extra).digest for e in events] == [digest]


@pytest.mark.parametrize("variant", list(demo.VARIANTS))
def test_variant_fails_at_its_stage_and_nothing_is_pushed(airflow_db, oci_registry, variant):
    made = demo.make_variant(variant)
    image = f"cicd-e2e/variant-{variant}"
    result = run_dag(DAG, {"revision": made["revision"], "image": image, "stages": [made["stage"], "image"]})
    assert result.state == "failed"
    assert result.task_states["gate"] == "failed"
    assert result.task_states["push_image"] == "upstream_failed" and result.task_states["publish"] == "upstream_failed"
    gate = json.loads((report_dir(DAG, result.run_id) / "gate.json").read_text())
    assert gate["failed_stages"] == [made["stage"]], gate["reasons"]
    assert any(r["stage"] == made["stage"] and r["level"] == "fail" for r in gate["reasons"])
    assert stage(result.run_id, "checkout")["sha"] == made["sha"]
    assert list_tags(oci_registry, image) == []  # nothing pushed


@pytest.mark.parametrize(("conf", "message"), [
    ({"revision": "main; rm -rf /"}, "revision: 'main; rm -rf /' contains shell metacharacters"),
    ({"revision": "-upload-pack=touch"}, "revision: '-upload-pack=touch' is not a valid Git"),
    ({"repo_url": "file:///nonexistent/app.git"}, "repo_url: file:///nonexistent/app.git does not exist"),
    ({"revision": "no-such-branch"}, "revision: 'no-such-branch' does not exist"),
    ({"builder": "kubernetes"}, "is a path on the Airflow worker, which a build pod cannot clone"),
])
def test_bad_params_stop_before_anything_runs(airflow_db, conf, message):
    demo.seed()
    result = run_dag(DAG, conf)
    assert result.state == "failed"
    first_failed = "checkout" if conf.get("revision") == "no-such-branch" else "prepare"
    assert result.task_states[first_failed] == "failed"
    later = SCAN_STAGES[SCAN_STAGES.index(first_failed) + 1:] if first_failed == "checkout" else SCAN_STAGES
    assert all(result.task_states[t] == "upstream_failed" for t in (*later, "gate", "push_image"))
    report = report_dir(DAG, result.run_id)
    error = json.loads((report / "error.json").read_text())
    assert error["step"] == first_failed and error["type"] == "InputError" and message in error["error"]
    ran = sorted(p.stem for p in (report / "stages").glob("*.json"))
    assert ran == []  # no stage recorded a result: nothing ran


@pytest.mark.image
def test_docker_builder_builds_and_pushes_through_the_docker_api(airflow_db, oci_registry, docker_engine, monkeypatch):
    """builder=docker: the docker provider's DockerHook drives a Docker Engine API (podman's here)."""
    seeded = demo.seed()
    monkeypatch.setenv("DOCKER_HOST", docker_engine)
    image = "cicd-e2e/docker-app"
    result = run_dag(DAG, {"image": image, "builder": "docker", "stages": ["image"]})
    assert result.state == "success", result.task_states
    params = json.loads((report_dir(DAG, result.run_id) / "params.json").read_text())
    assert params["builder"] == "docker" and params["docker_url"] == docker_engine
    built = stage(result.run_id, "image")
    assert built["builder"] == "docker" and built["status"] == "ok", built["message"]
    pushed = json.loads((report_dir(DAG, result.run_id) / "image.json").read_text())
    tag = seeded["sha"][:12]
    assert pushed["builder"] == "docker" and pushed["tag"] == tag and pushed["verified"] is True
    assert pushed["digest"] == manifest_digest(oci_registry, image, tag)
    assert result.task_states["publish"] == "success"


def test_docker_builder_without_an_engine_reports_not_built(airflow_db, oci_registry, monkeypatch, tmp_path):
    """No engine at DOCKER_HOST: "image: not built" names the URL; the default policy warns, nothing is pushed."""
    demo.seed()
    missing = f"unix://{tmp_path}/no-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", missing)
    image = "cicd-e2e/no-engine"
    result = run_dag(DAG, {"image": image, "builder": "docker", "stages": ["image"]})
    assert result.state == "success", result.task_states
    built = stage(result.run_id, "image")
    assert built["status"] == "not_built" and missing in built["message"]
    gate = json.loads((report_dir(DAG, result.run_id) / "gate.json").read_text())
    assert gate["verdict"] == "warn" and any(r["stage"] == "image" for r in gate["reasons"])
    assert result.task_states["push_image"] == "skipped" and result.task_states["publish"] == "skipped"
    assert list_tags(oci_registry, image) == []


def test_second_run_reuses_the_environment(airflow_db):
    demo.seed()
    first = run_dag(DAG, {"stages": ["test"]})
    second = run_dag(DAG, {"stages": ["test"]})
    assert first.state == second.state == "success"
    env1, env2 = stage(first.run_id, "env"), stage(second.run_id, "env")
    assert env2["reused"] is True and env2["venv"] == env1["venv"] and env2["lock_hash"] == env1["lock_hash"]
    assert stage(second.run_id, "test")["counts"]["failures"] == 0


def test_watch_branch_triggers_a_build_for_the_new_commit(airflow_db):
    from include.cicd import watch

    seeded = demo.seed()
    result = run_dag("cicd_watch_branch", {"wait_timeout": 5})
    assert result.state == "success", result.task_states
    assert watch.last_sha(seeded["repo_url"], "main") == seeded["sha"]
    again = run_dag("cicd_watch_branch", {"wait_timeout": 2})  # nothing new: skipped after the timeout, no hang
    assert again.task_states["wait_for_commit"] == "skipped"
    assert again.task_states["trigger_build"] == "skipped"
