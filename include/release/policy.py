"""The release policy file: environments, which overlay paths they cover, and the evidence each requires."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from include.common.errors import InputError

DEFAULT_POLICY = Path(__file__).with_name("release_policy.yaml")
# what a release can be asked to prove, and which kind of change carries it ("any": every change)
EVIDENCE = {
    "model_blessed": "model",
    "data_validated": "model",
    "approval": "any",
    "sync_window_open": "any",
}


@dataclass(frozen=True)
class Environment:
    name: str
    paths: tuple[str, ...]
    require: tuple[str, ...]
    sync_windows: list[dict[str, Any]] = field(default_factory=list)

    def required_for(self, kind: str) -> tuple[str, ...]:
        """The evidence a change of ``kind`` (``model``, ``image``) must bring here."""
        return tuple(r for r in self.require if EVIDENCE[r] in (kind, "any"))


@dataclass(frozen=True)
class ReleasePolicy:
    path: str
    sha256: str
    environments: tuple[Environment, ...]

    def environment_for(self, overlay_path: str) -> Environment:
        """The first environment whose ``paths`` match ``overlay_path``."""
        clean = overlay_path.strip("/")
        for env in self.environments:
            if any(fnmatch.fnmatch(clean, pattern) for pattern in env.paths):
                return env
        raise InputError(f"release policy {self.path}", f"no environment covers the overlay path {overlay_path!r}",
                         "add an environment whose paths match it (a last entry with paths: ['*'] covers the rest)")


def load(path: str | Path | None = None) -> ReleasePolicy:
    """Read and check a release policy file (default ``include/release/release_policy.yaml``)."""
    import yaml

    from include.gitops.windows import parse_windows

    file = Path(path) if path else DEFAULT_POLICY
    what = f"release policy {file}"
    if not file.is_file():
        raise InputError(what, "the file does not exist", f"point release_policy at a file, or use {DEFAULT_POLICY}")
    raw = file.read_bytes()
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise InputError(what, f"it is not YAML ({exc})", "fix the syntax") from exc
    envs = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(envs, list) or not envs:
        raise InputError(what, "it has no environments list", "add environments: [{name, paths, require}]")
    out = []
    for i, env in enumerate(envs):
        where = f"{what}: environments[{i}]"
        if not isinstance(env, dict) or not env.get("name") or not env.get("paths"):
            raise InputError(where, "an environment needs a name and paths", "e.g. {name: prod, paths: ['*/overlays/prod']}")
        unknown = [r for r in env.get("require") or [] if r not in EVIDENCE]
        if unknown:
            raise InputError(f"{where} ({env['name']})", f"unknown evidence {unknown}",
                             f"require only from {sorted(EVIDENCE)}")
        windows = env.get("sync_windows") or []
        parse_windows(windows, f"{where}.sync_windows")  # a bad window fails here, not at release time
        out.append(Environment(str(env["name"]), tuple(env["paths"]), tuple(env.get("require") or []), list(windows)))
    return ReleasePolicy(str(file), hashlib.sha256(raw).hexdigest(), tuple(out))
