"""One function per DAG task: read the run's params and earlier results, run a stage, record it.

Every stage writes ``<report>/stages/<stage>.json``; the gate reads them all. The checkout is a
per-run work folder ``<state>/cicd/work/<dag_id>/<run_id>/src`` shared by the run's tasks.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from include.common.errors import InputError
from include.common.git import checkout as git_checkout
from include.common.git import resolve
from include.common.paths import report_dir, state_dir
from include.cicd import artifacts, audit, cache, env, image, image_docker, image_pod, sast, sbom, secrets, testing
from include.cicd.builders import resolve_builder
from include.cicd.params import validate_params
from include.cicd.policy import evaluate, load_policy
from include.cicd.report import log_summary, write_summary
from include.cicd.results import STAGES, Status, read_stages, result, write_stage


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
        path = self.report / "stages" / f"{name}.json"
        if not path.exists():
            raise RuntimeError(f"stage {name!r} has no result in {path.parent}: did it run?")
        return json.loads(path.read_text())

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
        image_pod.check_repo_for_pod(params["repo"])
    ctx = RunContext(dag_id, run_id, params)
    (ctx.report / "params.json").write_text(json.dumps(params, indent=2))
    return ctx


def _record(ctx: RunContext, res: dict) -> dict:
    write_stage(ctx.report, res)
    return res


def do_checkout(ctx: RunContext) -> dict:
    """Resolve the ref (git ls-remote: a missing repo or ref fails here) and check out that exact commit."""
    start = time.monotonic()
    p = ctx.params
    try:
        sha = resolve(p["repo"], p["ref"])
    except InputError:
        raise
    except Exception as exc:
        raise InputError("repo", f"cannot read {p['repo']}: {exc}", "check the URL and that the repository exists") from exc
    co = git_checkout(p["repo"], sha, ctx.checkout)
    if co.sha != sha:
        raise RuntimeError(f"checked out {co.sha}, expected {sha}")
    return _record(ctx, result("checkout", Status.OK, f"{p['ref']} -> {sha}", sha=sha, ref=p["ref"], repo=p["repo"],
                               path=str(ctx.checkout), seconds=round(time.monotonic() - start, 2)))


def do_env(ctx: RunContext) -> dict:
    return _record(ctx, env.ensure_venv(ctx.checkout))


def _skip(ctx: RunContext, stage: str) -> dict | None:
    if stage not in ctx.params["stages"]:
        return _record(ctx, result(stage, Status.NOT_REQUESTED, "not requested in this run's `stages` param"))
    return None


def do_test(ctx: RunContext) -> dict:
    return _skip(ctx, "test") or _record(ctx, testing.run_tests(ctx.checkout, Path(ctx.stage("env")["venv"]), ctx.report, ctx.work))


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
    return _skip(ctx, "secrets") or _cached(ctx, "secrets", lambda: secrets.run_secrets(ctx.checkout, ctx.report))


def do_audit(ctx: RunContext, env_extra: dict | None = None) -> dict:
    return _skip(ctx, "audit") or _record(ctx, audit.run_audit(env.find_lock(ctx.checkout), ctx.report, env_extra=env_extra))


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
        env = image_pod.build_env(image_pod.WORKSPACE_MOUNT, ctx.params["repo"], sha, ctx.params["image"], tag)
        return _record(ctx, image_pod.build_in_pod(pod_build, env, tag))
    if ctx.params.get("builder") == "docker":
        if docker is None:
            return _record(ctx, result("image", Status.NOT_BUILT, f"image: not built (the docker builder was chosen, "
                                       f"but no Docker engine answers at {ctx.params['docker_url']})", builder=None))
        return _record(ctx, image_docker.build(docker, ctx.checkout, ctx.params["image"], tag, ctx.report, ctx.registry))
    return _record(ctx, image.build_image(ctx.checkout, ctx.params["image"], tag, ctx.report, ctx.registry))


def do_gate(ctx: RunContext) -> dict:
    """The verdict of the policy over every recorded stage; writes gate.json and the summaries."""
    policy = load_policy(ctx.params["policy"])
    stages = read_stages(ctx.report)
    verdict = evaluate(policy, stages, ctx.params["stages"]).to_dict()
    verdict["policy"] = ctx.params["policy"]
    (ctx.report / "gate.json").write_text(json.dumps(verdict, indent=2))
    write_summary(ctx.report, ctx.params, stages, verdict)
    return verdict


def do_push(ctx: RunContext, docker=None, pod_push=None) -> dict:
    """Push the built image (only called after the gate passed) and verify the digest.

    ``docker`` is the engine's APIClient (docker builder); ``pod_push(built)`` runs the push pod
    and returns the digest it pushed (kubernetes builder). buildah pushes from this worker.
    """
    gate = json.loads((ctx.report / "gate.json").read_text())
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
        out = image_pod.verify_push(pod_push(built), name, tag, ctx.registry)
    else:
        out = image.push_image(built["local_ref"], name, tag, ctx.registry, ctx.work)
    out |= {"pushed": True, "tag": tag, "image": name, "registry": ctx.registry, "builder": built.get("builder")}
    (ctx.report / "image.json").write_text(json.dumps(out, indent=2))
    stages = read_stages(ctx.report)
    write_summary(ctx.report, ctx.params, stages, gate, extra={k: out[k] for k in ("reference", "digest", "registry_digest")})
    return out


def publish_extra(ctx: RunContext, pushed: dict) -> dict:
    """The ``app_image`` Asset event's extra: repo, commit, tag, digest and the report folder.

    ``image`` is the full repository a kubelet pulls, registry host included
    (``127.0.0.1:5000/demo-app``): the image write-back puts it into the manifests as it is.
    """
    co = ctx.stage("checkout")
    repository = f"{image.registry_host(pushed.get('registry') or ctx.registry)}/{ctx.params['image']}"
    return {"repo": ctx.params["repo"], "commit": co["sha"], "image": repository,
            "tag": pushed.get("tag") or image_tag(co["sha"]), "digest": pushed.get("digest"),
            "reference": pushed.get("reference"), "pushed": bool(pushed.get("pushed")),
            "report": str(ctx.report)}


def cleanup(ctx: RunContext, docker=None) -> None:
    """Remove the run's work folder (checkout), and its local image unless it was pushed; reports are kept.

    A pushed image stays in local storage so that a re-run of the same commit reuses it.
    ``docker`` is the engine's APIClient when the docker builder built the image.
    """
    try:
        built = ctx.stage("image")
        if built.get("builder") == "kubernetes":
            pass  # nothing local: the workspace volume's run folder is the operator's to clear
        elif built.get("builder") == "docker":
            if docker is not None and built.get("local_ref") and not (ctx.report / "image.json").exists():
                image_docker.remove(docker, built["local_ref"])
        elif built.get("local_ref") and not (ctx.report / "image.json").exists():
            image.remove_local(built["local_ref"])
        elif built.get("local_ref"):
            image.prune_local(ctx.params["image"], built["tag"])
    except RuntimeError:
        pass
    shutil.rmtree(ctx.work, ignore_errors=True)


STAGE_FUNCS = {"test": do_test, "sast": do_sast, "secrets": do_secrets, "audit": do_audit, "sbom": do_sbom,
               "build": do_build, "image": do_image_build}
assert set(STAGE_FUNCS) == set(STAGES)

__all__ = ["RunContext", "prepare", "do_checkout", "do_env", "do_gate", "do_push", "publish_extra", "log_summary",
           "STAGE_FUNCS", "cleanup"]


def load_context(dag_id: str, run_id: str) -> RunContext:
    """The context ``prepare`` stored for this run (FileNotFoundError when prepare never succeeded)."""
    path = report_dir(dag_id, run_id) / "params.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the run's params were not validated")
    return RunContext(dag_id, run_id, json.loads(path.read_text()))
