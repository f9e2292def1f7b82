"""The DAG's params, checked before anything runs: repo, ref, image name, policy, stages."""

from __future__ import annotations

import re
from pathlib import Path

from include.common.errors import InputError
from include.cicd.builders import validate_builder
from include.common.git import validate_ref, validate_repo_url
from include.common import paths
from include.common.paths import PROJECT_ROOT
from include.cicd.results import STAGES

POLICY_DIR = Path(__file__).parent / "policy"
_IMAGE_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_SHELL_CHARS = set(";|&$`<>(){}[]*?!~'\"\\ \t\n")


def demo_repo_url() -> str:
    """The seeded demo app repo (``include.cicd.demo.seed()`` creates it), served or as a file:// URL."""
    return paths.demo_repo_url("app")


def resolve_policy(policy: str) -> Path:
    """A policy name (``default``, ``strict``: files in include/cicd/policy/) or a path to a YAML/JSON file."""
    if not isinstance(policy, str) or not policy.strip():
        raise InputError("policy", "is empty", "give a policy name such as 'default' or a path to a YAML file")
    if re.fullmatch(r"[A-Za-z0-9_-]+", policy):
        path = POLICY_DIR / f"{policy}.yaml"
        if not path.exists():
            names = sorted(p.stem for p in POLICY_DIR.glob("*.yaml"))
            raise InputError("policy", f"there is no policy named {policy!r}", f"use one of {names} or a file path")
        return path
    path = Path(policy)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    if not path.is_file() or path.suffix not in (".yaml", ".yml", ".json"):
        raise InputError("policy", f"{policy!r} is not a readable .yaml/.yml/.json file",
                         "give an existing policy file or a name from include/cicd/policy/")
    return path


def validate_params(params: dict) -> dict:
    """Return the normalized params or raise InputError naming the first bad one.

    Nothing here touches the network; whether the repo and ref exist is checked by the
    checkout (``git ls-remote``) before any stage runs.
    """
    repo = params.get("repo") or demo_repo_url()
    ref = params.get("ref") or "main"
    if isinstance(ref, str) and set(ref) & _SHELL_CHARS:
        bad = "".join(sorted(set(ref) & _SHELL_CHARS))
        raise InputError("ref", f"{ref!r} contains shell metacharacters {bad!r}",
                         "give a plain branch, tag or commit SHA such as 'main' or 'v1.0.0'")
    validate_ref(ref, "ref")
    validate_repo_url(repo, "repo")
    if repo.startswith("file://") or repo.startswith("/"):
        local = Path(repo.removeprefix("file://"))
        if not local.exists():
            raise InputError("repo", f"{repo} does not exist on this machine",
                             "seed the demo repo with include.cicd.demo.seed() or give an existing repo URL")
    image = params.get("image") or "demo-app"
    if not isinstance(image, str) or not _IMAGE_RE.match(image) or len(image) > 128:
        raise InputError("image", f"{image!r} is not a valid image repository name",
                         "use lowercase letters, digits, '.', '_', '-' and '/' (e.g. 'demo-app' or 'team/demo-app')")
    policy_path = resolve_policy(params.get("policy") or "default")
    stages = params.get("stages")
    if stages is None:
        stages = list(STAGES)
    if not isinstance(stages, list) or not stages:
        raise InputError("stages", f"{stages!r} is not a non-empty list", f"choose from {list(STAGES)}")
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise InputError("stages", f"unknown stage(s) {unknown}", f"choose from {list(STAGES)}")
    return {
        "repo": repo,
        "ref": ref,
        "image": image,
        "policy": str(policy_path),
        "stages": [s for s in STAGES if s in stages],
        "registry": (params.get("registry") or "").rstrip("/"),
        "builder": validate_builder(params.get("builder")),
    }
