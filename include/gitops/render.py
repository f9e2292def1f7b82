"""Render manifests from a Git revision: plain YAML, Kustomize (``kustomize build``) or Helm
(``helm template``).

The source type is detected from the folder (``kustomization.yaml`` -> Kustomize,
``Chart.yaml`` -> Helm, otherwise every ``*.yaml``/``*.yml``/``*.json`` file below it). Tool
errors are raised as :class:`RenderError` with the tool's stderr, so the task log shows what
the tool said.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from include.common.errors import InputError
from include.common.git import checkout

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class RenderError(InputError):
    """A manifest source could not be rendered (bad YAML, tool failure); carries stderr."""


@dataclass
class Rendered:
    """The result of rendering one source at one revision."""

    objects: list[dict[str, Any]]
    source_type: str
    path: str
    sha: str = ""
    repo_url: str = ""
    revision: str = ""
    files: list[str] = field(default_factory=list)


def detect_source(path: Path) -> str:
    """``kustomize``, ``helm`` or ``plain`` for the folder ``path``."""
    if any((path / name).exists() for name in KUSTOMIZATION_FILES):
        return "kustomize"
    if (path / "Chart.yaml").exists():
        return "helm"
    return "plain"


def parse_manifests(text: str, source: str) -> list[dict[str, Any]]:
    """Parse a multi-document YAML stream into objects; ``kind: List`` is expanded.

    Raises RenderError naming ``source`` and the document for bad YAML or a non-object document.
    """
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RenderError(
            f"manifest {source}", f"is not valid YAML at{where}: {problem}", "fix the YAML syntax (indentation, quotes, colons)"
        ) from exc
    objects: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise RenderError(
                f"manifest {source} document {index + 1}",
                f"is a {type(doc).__name__}, not a Kubernetes object",
                "each YAML document must be a mapping with apiVersion, kind and metadata",
            )
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            objects.extend(item for item in doc["items"] if item)
        else:
            objects.append(doc)
    return objects


def dump_manifests(objects: list[dict[str, Any]]) -> str:
    """One YAML stream, stable key order, for bundles and reports."""
    return yaml.safe_dump_all(objects, sort_keys=True, default_flow_style=False)


def _run_tool(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        raise RenderError(
            what,
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}",
            "fix the manifests so that the command above succeeds locally",
        )
    return proc.stdout


def _tool(name: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    from include.common.paths import tools_dir

    tools = tools_dir() / "bin"
    if (tools / name).exists():
        return str(tools / name)
    return shutil.which(name)


def kustomize_command(path: Path, kustomize_bin: str | None = None) -> list[str]:
    """``kustomize build <path>``; falls back to ``kubectl kustomize`` (the same engine, built in)."""
    binary = _tool("kustomize", kustomize_bin)
    if binary:
        return [binary, "build", str(path)]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize", str(path)]
    raise RenderError(
        f"manifests {path}",
        "is a Kustomize folder but neither `kustomize` nor `kubectl` is on PATH",
        "run scripts/setup.d/30-k8s.sh (builds kustomize into $DELIVERY_TOOLS/bin) or install kustomize",
    )


def helm_command(
    path: Path, *, release: str, namespace: str | None, values_files: list[str], helm_bin: str | None = None
) -> list[str]:
    binary = _tool("helm", helm_bin)
    if not binary:
        raise RenderError(
            f"manifests {path}",
            "is a Helm chart but `helm` is not on PATH",
            "run scripts/setup.d/30-k8s.sh (builds helm into $DELIVERY_TOOLS/bin) or install helm 3",
        )
    cmd = [binary, "template", release, str(path)]
    if namespace:
        cmd += ["--namespace", namespace]
    for values in values_files:
        cmd += ["--values", values]
    return cmd


def render_dir(
    path: str | Path,
    *,
    release: str = "release",
    namespace: str | None = None,
    values_files: list[str] | None = None,
    kustomize_bin: str | None = None,
    helm_bin: str | None = None,
) -> Rendered:
    """Render the manifests in folder ``path`` (no Git involved)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"manifests path {path}", "is not a folder", "give the folder that holds the manifests")
    source_type = detect_source(path)
    if source_type == "kustomize":
        text = _run_tool(kustomize_command(path, kustomize_bin), f"kustomize build of {path}")
        return Rendered(parse_manifests(text, f"kustomize build {path.name}"), "kustomize", str(path))
    if source_type == "helm":
        values = [str(path / v) if not Path(v).is_absolute() else v for v in (values_files or [])]
        text = _run_tool(
            helm_command(path, release=release, namespace=namespace, values_files=values, helm_bin=helm_bin),
            f"helm template of {path}",
        )
        return Rendered(parse_manifests(text, f"helm template {path.name}"), "helm", str(path))
    objects: list[dict[str, Any]] = []
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    if not files:
        raise InputError(f"manifests path {path}", "holds no .yaml, .yml or .json files", "point path at the manifests folder")
    for file in files:
        rel = str(file.relative_to(path))
        if file.suffix == ".json":
            try:
                doc = json.loads(file.read_text())
            except json.JSONDecodeError as exc:
                raise RenderError(f"manifest {rel}", f"is not valid JSON: {exc}", "fix the JSON syntax") from exc
            objects.extend(parse_manifests(yaml.safe_dump(doc), rel))
        else:
            objects.extend(parse_manifests(file.read_text(), rel))
    return Rendered(objects, "plain", str(path), files=[str(f.relative_to(path)) for f in files])


def safe_subpath(root: Path, sub: str) -> Path:
    """``root/sub``, refusing paths that leave ``root``."""
    target = (root / (sub or ".")).resolve()
    if target != root.resolve() and root.resolve() not in target.parents:
        raise InputError("path", f"{sub!r} points outside the repository", "use a folder inside the manifests repo")
    if not target.is_dir():
        raise InputError("path", f"{sub!r} is not a folder in the repository", "check the path and the revision")
    return target


def render_revision(
    repo_url: str,
    revision: str,
    path: str,
    workdir: str | Path,
    *,
    release: str = "release",
    namespace: str | None = None,
    values_files: list[str] | None = None,
) -> Rendered:
    """Check out ``revision`` of ``repo_url`` into ``workdir`` and render ``path`` in it."""
    co = checkout(repo_url, revision, Path(workdir))
    rendered = render_dir(safe_subpath(co.path, path), release=release, namespace=namespace, values_files=values_files)
    rendered.sha, rendered.repo_url, rendered.revision, rendered.path = co.sha, repo_url, revision, path
    return rendered
