"""One function per DAG task: read the run's params and earlier results, run a stage, record it.

Every stage writes ``<report>/stages/<stage>.json``; the gate reads them all. The checkout is a
per-run work folder ``<state>/cicd/work/<dag_id>/<run_id>/src`` shared by the run's tasks.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from include.cicd import (app_tests, artifacts, audit, cache, image, image_docker, image_pod, sast, sbom, secret_scan,
                           venv_cache)
from include.cicd.builders import resolve_builder
from include.cicd.params import git_inputs, validate_params
from include.cicd.policy import evaluate, load_policy
from include.cicd.report import log_summary, write_summary
from include.cicd.results import STAGES, Status, read_stages, result, write_stage
from include.common.errors import InputError
from include.common.events import AppImage
from include.common.git import checkout as git_checkout
from include.common.git import resolve
from include.common.paths import report_dir, state_dir
from include.common.reports import read_report, write_report


@dataclass
class RunContext:
    dag_id: str
    run_id: str
    params: dict  # validated (see include.cicd.params.validate_params)

    @property
    def report(self) -> Path:
        return report_dir(self.dag_id, self.run_id)

    @property
    def work(self) -> Path:
        path = state_dir() / "cicd" / "work" / self.dag_id / re.sub(r"[^A-Za-z0-9._-]", "_", self.run_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def checkout(self) -> Path:
        return self.work / "src"

    def stage(self, name: str) -> dict:
        res = read_report(self.report / "stages", f"{name}.json")
        if res is None:
            raise RuntimeError(f"stage {name!r} has no result in {self.report / 'stages'}: did it run?")
        return res

    @property
    def registry(self) -> str:
        return self.params.get("registry") or image.default_registry()


def prepare(dag_id: str, run_id: str, raw_params: dict, docker_url: str | None = None) -> RunContext:
    """Validate the params (InputError on the first bad one), pick the image builder, write params.json.

    ``builder: auto`` is resolved here (see include.cicd.builders), so every task of the run
    uses the same builder.
    """
    params = validate_params(raw_params)
    params["docker_url"] = docker_url or image_docker.docker_url()
    params["builder"], params["builder_reason"] = resolve_builder(params["builder"], params["docker_url"])
    if params["builder"] == "kubernetes" and "image" in params["stages"]:
        image_pod.check_repo_for_pod(params["repo_url"])
    ctx = RunContext(dag_id, run_id, params)
    write_report(ctx.report, "params.json", params)
    return ctx


def _record(ctx: RunContext, res: dict) -> dict:
    write_stage(ctx.report, res)
    return res


def do_checkout(ctx: RunContext) -> dict:
    """Resolve the revision (git ls-remote: a missing repo or revision fails here) and check out that exact commit."""
    start = time.monotonic()
    p = ctx.params
    with git_inputs():
        try:
            sha = resolve(p["repo_url"], p["revision"])
        except InputError:
            raise
        except Exception as exc:
            raise InputError("repo_url", f"cannot read {p['repo_url']}: {exc}",
                             "check the URL and that the repository exists") from exc
        co = git_checkout(p["repo_url"], sha, ctx.checkout)
    if co.sha != sha:
        raise RuntimeError(f"checked out {co.sha}, expected {sha}")
    return _record(ctx, result("checkout", Status.OK, f"{p['revision']} -> {sha}", sha=sha, revision=p["revision"],
                               repo_url=p["repo_url"], path=str(ctx.checkout), seconds=round(time.monotonic() - start, 2)))


def do_env(ctx: RunContext) -> dict:
    return _record(ctx, venv_cache.ensure_venv(ctx.checkout))


def _skip(ctx: RunContext, stage: str) -> dict | None:
    if stage not in ctx.params["stages"]:
        return _record(ctx, result(stage, Status.NOT_REQUESTED, "not requested in this run's `stages` param"))
    return None


def do_test(ctx: RunContext) -> dict:
    return _skip(ctx, "test") or _record(ctx, app_tests.run_tests(ctx.checkout, Path(ctx.stage("env")["venv"]), ctx.report, ctx.work))


def _cached(ctx: RunContext, stage: str, run, extra: list[Path] | None = None) -> dict:
    """Run ``stage`` or restore its result for an identical source tree (see include.cicd.cache)."""
    key = cache.stage_key(stage, ctx.checkout, extra)
    res = cache.get(stage, key, ctx.report)
    if res is None:
        res = run()
        cache.put(stage, key, ctx.report, res)
    return _record(ctx, res)


def do_sast(ctx: RunContext) -> dict:
    return _skip(ctx, "sast") or _cached(ctx, "sast", lambda: sast.run_sast(ctx.checkout, ctx.report),
                                         [sast.SEMGREP_RULES])


def do_secrets(ctx: RunContext) -> dict:
    return _skip(ctx, "secrets") or _cached(ctx, "secrets", lambda: secret_scan.run_secrets(ctx.checkout, ctx.report))


def do_audit(ctx: RunContext, env_extra: dict | None = None) -> dict:
    return _skip(ctx, "audit") or _record(ctx, audit.run_audit(venv_cache.find_lock(ctx.checkout), ctx.report, env_extra=env_extra))


def do_sbom(ctx: RunContext) -> dict:
    return _skip(ctx, "sbom") or _cached(
        ctx, "sbom", lambda: sbom.run_sbom(ctx.checkout, Path(ctx.stage("env")["venv"]), ctx.report))


def do_build(ctx: RunContext) -> dict:
    return _skip(ctx, "build") or _cached(ctx, "build", lambda: artifacts.run_build(ctx.checkout, ctx.report))


def image_tag(sha: str) -> str:
    return sha[:12]


def do_image_build(ctx: RunContext, docker=None, pod_build=None) -> dict:
    """Build the image with the run's builder; nothing is pushed here.

    ``docker`` is the engine's APIClient for the docker builder (None when no engine answered);
    ``pod_build(env)`` runs the build pod for the kubernetes builder; buildah runs on this worker.
    """
    skipped = _skip(ctx, "image")
    if skipped:
        return skipped
    sha = ctx.stage("checkout")["sha"]
    tag = image_tag(sha)
    if ctx.params.get("builder") == "kubernetes":
        pod_env = image_pod.build_env(image_pod.WORKSPACE_MOUNT, ctx.params["repo_url"], sha, ctx.params["image"], tag)
        return _record(ctx, image_pod.build_in_pod(pod_build, pod_env, tag))
    if ctx.params.get("builder") == "docker":
        if docker is None:
            return _record(ctx, result("image", Status.NOT_BUILT, f"image: not built (the docker builder was chosen, "
                                       f"but no Docker engine answers at {ctx.params['docker_url']})", builder=None))
        return _record(ctx, image_docker.build(docker, ctx.checkout, ctx.params["image"], tag, ctx.report, ctx.registry))
    return _record(ctx, image.build_image(ctx.checkout, ctx.params["image"], tag, ctx.report, ctx.registry))


def do_gate(ctx: RunContext) -> dict:
    """The verdict of the policy over every recorded stage; writes gate.json and the summaries."""
    policy = load_policy(ctx.params["gate_policy"])
    stages = read_stages(ctx.report)
    verdict = evaluate(policy, stages, ctx.params["stages"]).to_dict()
    verdict["gate_policy"] = ctx.params["gate_policy"]
    write_report(ctx.report, "gate.json", verdict)
    write_summary(ctx.report, ctx.params, stages, verdict)
    return verdict


def do_push(ctx: RunContext, docker=None, pod_push=None) -> dict:
    """Push the built image (only called after the gate passed) and verify the digest.

    ``docker`` is the engine's APIClient (docker builder); ``pod_push(env)`` runs the push pod
    and returns the digest it pushed (kubernetes builder). buildah pushes from this worker.
    """
    gate = read_report(ctx.report, "gate.json")
    if gate is None:
        raise RuntimeError(f"no gate.json in {ctx.report}: the gate did not run, nothing is pushed")
    if gate["verdict"] == "fail":  # belt and braces: the DAG wiring already stops here
        raise RuntimeError("the gate failed: nothing is pushed")
    built = ctx.stage("image")
    if built["status"] != "ok":
        return {"pushed": False, "reason": built["message"]}
    name, tag = ctx.params["image"], built["tag"]
    if built.get("builder") == "docker":
        if docker is None:
            raise RuntimeError(f"the image was built by the Docker engine at {ctx.params['docker_url']}, which no longer "
                               "answers: nothing is pushed. Fix: start the engine, then clear push_image")
        out = image_docker.push(docker, built["local_ref"], name, tag, ctx.registry)
    elif built.get("builder") == "kubernetes":
        pushed = pod_push(image_pod.push_env(image_pod.WORKSPACE_MOUNT, name, tag, ctx.registry))
        out = image_pod.verify_push(pushed, name, tag, ctx.registry)
    else:
        out = image.push_image(built["local_ref"], name, tag, ctx.registry, ctx.work)
    out |= {"pushed": True, "tag": tag, "image": name, "registry": ctx.registry, "builder": built.get("builder")}
    write_report(ctx.report, "image.json", out)
    stages = read_stages(ctx.report)
    write_summary(ctx.report, ctx.params, stages, gate, extra={k: out[k] for k in ("reference", "digest", "registry_digest")})
    return out


def publish_extra(ctx: RunContext, pushed: dict) -> dict:
    """The ``app_image`` Asset event's extra (``AppImage``), also written to ``published.json``.

    ``image`` is the full repository a kubelet pulls, registry host included
    (``127.0.0.1:5000/demo-app``): the image write-back puts it into the manifests as it is.
    """
    sha = ctx.stage("checkout")["sha"]
    repository = f"{image.registry_host(pushed.get('registry') or ctx.registry)}/{ctx.params['image']}"
    extra = AppImage(repo_url=ctx.params["repo_url"], sha=sha, image=repository, tag=pushed.get("tag") or image_tag(sha),
                     digest=pushed["digest"], reference=pushed.get("reference") or "",
                     report_dir=str(ctx.report)).to_extra()
    write_report(ctx.report, "published.json", extra)
    return extra


def cleanup(ctx: RunContext, docker=None, pod_clean=None) -> None:
    """Remove the run's work folder (checkout), and its local image unless it was pushed; reports are kept.

    A pushed image stays in local storage so that a re-run of the same commit reuses it.
    ``docker`` is the engine's APIClient when the docker builder built the image; ``pod_clean()``
    runs the pod that clears the run's folder on the workspace volume when a build pod built it.
    """
    pushed = (ctx.report / "image.json").exists()
    try:
        built = ctx.stage("image")
    except RuntimeError:  # the image stage never ran
        built = {}
    if built.get("builder") == "docker":
        if docker is not None and built.get("local_ref") and not pushed:
            image_docker.remove(docker, built["local_ref"])
    elif built.get("builder") != "kubernetes" and built.get("local_ref"):
        if pushed:
            image.prune_local(ctx.params["image"], built["tag"])
        else:
            image.remove_local(built["local_ref"])
    shutil.rmtree(ctx.work, ignore_errors=True)
    if built.get("builder") == "kubernetes" and pod_clean is not None:
        pod_clean()


STAGE_FUNCS = {"test": do_test, "sast": do_sast, "secrets": do_secrets, "audit": do_audit, "sbom": do_sbom,
               "build": do_build, "image": do_image_build}
assert set(STAGE_FUNCS) == set(STAGES)


def run_stage(ctx: RunContext, stage: str) -> dict:
    """Run one stage on this worker (``checkout``, ``env`` or one of ``STAGES``) and record its result."""
    return {"checkout": do_checkout, "env": do_env, **STAGE_FUNCS}[stage](ctx)


__all__ = ["RunContext", "prepare", "run_stage", "do_gate", "do_push", "publish_extra", "log_summary", "STAGE_FUNCS",
           "cleanup"]


def load_context(dag_id: str, run_id: str) -> RunContext:
    """The context ``prepare`` stored for this run (FileNotFoundError when prepare never succeeded)."""
    params = read_report(report_dir(dag_id, run_id), "params.json")
    if params is None:
        raise FileNotFoundError(f"{report_dir(dag_id, run_id) / 'params.json'} is missing: the run's params were not validated")
    return RunContext(dag_id, run_id, params)
