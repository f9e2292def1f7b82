"""The DAG's params, checked before anything runs: repo_url, revision, image name, gate_policy, stages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from include.cicd import demo
from include.cicd.builders import validate_builder
from include.cicd.results import STAGES
from include.common.errors import InputError
from include.common.git import validate_ref, validate_repo_url
from include.common.paths import PROJECT_ROOT

POLICY_DIR = Path(__file__).parent / "policy"
_IMAGE_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_SHELL_CHARS = set(";|&$`<>(){}[]*?!~'\"\\ \t\n")
_GIT_NAMES = {"repo": "repo_url", "ref": "revision"}  # how include.common.git names these inputs


def app_repo_url(repo_url: str | None = None) -> str:
    """``repo_url``, or when it is empty the seeded demo app repo (``include.cicd.demo.seed()`` creates it)."""
    return repo_url or demo.repo_url()


@contextmanager
def git_inputs() -> Iterator[None]:
    """Re-raise an ``InputError`` of include.common.git with the names of this DAG's params."""
    try:
        yield
    except InputError as exc:
        raise InputError(_GIT_NAMES.get(exc.what, exc.what), exc.problem, exc.fix) from exc


def resolve_policy(gate_policy: str) -> Path:
    """A policy name (``default``, ``strict``: files in include/cicd/policy/) or a path to a YAML/JSON file."""
    if not isinstance(gate_policy, str) or not gate_policy.strip():
        raise InputError("gate_policy", "is empty", "give a policy name such as 'default' or a path to a YAML file")
    if re.fullmatch(r"[A-Za-z0-9_-]+", gate_policy):
        path = POLICY_DIR / f"{gate_policy}.yaml"
        if not path.exists():
            names = sorted(p.stem for p in POLICY_DIR.glob("*.yaml"))
            raise InputError("gate_policy", f"there is no policy named {gate_policy!r}", f"use one of {names} or a file path")
        return path
    path = Path(gate_policy)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    if not path.is_file() or path.suffix not in (".yaml", ".yml", ".json"):
        raise InputError("gate_policy", f"{gate_policy!r} is not a readable .yaml/.yml/.json file",
                         "give an existing policy file or a name from include/cicd/policy/")
    return path


def validate_params(params: dict) -> dict:
    """Return the normalized params or raise InputError naming the first bad one.

    Nothing here touches the network; whether the repo and revision exist is checked by the
    checkout (``git ls-remote``) before any stage runs.
    """
    repo_url = app_repo_url(params.get("repo_url"))
    revision = params.get("revision") or "main"
    if isinstance(revision, str) and set(revision) & _SHELL_CHARS:
        bad = "".join(sorted(set(revision) & _SHELL_CHARS))
        raise InputError("revision", f"{revision!r} contains shell metacharacters {bad!r}",
                         "give a plain branch, tag or commit SHA such as 'main' or 'v1.0.0'")
    validate_ref(revision, "revision")
    validate_repo_url(repo_url, "repo_url")
    if repo_url.startswith("file://") or repo_url.startswith("/"):
        local = Path(repo_url.removeprefix("file://"))
        if not local.exists():
            raise InputError("repo_url", f"{repo_url} does not exist on this machine",
                             "seed the demo repo with include.cicd.demo.seed() or give an existing repo URL")
    image = params.get("image") or "demo-app"
    if not isinstance(image, str) or not _IMAGE_RE.match(image) or len(image) > 128:
        raise InputError("image", f"{image!r} is not a valid image repository name",
                         "use lowercase letters, digits, '.', '_', '-' and '/' (e.g. 'demo-app' or 'team/demo-app')")
    policy_path = resolve_policy(params.get("gate_policy") or "default")
    stages = params.get("stages")
    if stages is None:
        stages = list(STAGES)
    if not isinstance(stages, list) or not stages:
        raise InputError("stages", f"{stages!r} is not a non-empty list", f"choose from {list(STAGES)}")
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise InputError("stages", f"unknown stage(s) {unknown}", f"choose from {list(STAGES)}")
    return {
        "repo_url": repo_url,
        "revision": revision,
        "image": image,
        "gate_policy": str(policy_path),
        "stages": [s for s in STAGES if s in stages],
        "registry": (params.get("registry") or "").rstrip("/"),
        "builder": validate_builder(params.get("builder")),
    }
