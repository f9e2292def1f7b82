"""Write-back into a Kustomize overlay of the manifests repo, as Argo CD Image Updater's git
write-back and Flux image automation do: small, reviewable edits to files in Git.

- the model the app serves: a strategic-merge patch of the app's ConfigMap
  (``MODEL_NAME``, ``MODEL_VERSION``, ``MODEL_URI``, ``MODEL_RUN_ID``) plus a pod-template
  annotation on the Deployment, so that a new model rolls the pods (envFrom does not);
- the image: the ``images:`` entry of ``kustomization.yaml`` (``newName``, ``newTag``, ``digest``).

Every function takes the current file texts and returns the new ones: ``{path: text}``, ready
for ``include.common.git.commit_files``. Paths are repo-relative, with ``/``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Callable

import yaml

from include.common.errors import InputError

MODEL_PATCH = "model-serving.yaml"
MODEL_ROLLOUT_PATCH = "model-rollout.yaml"
MODEL_ANNOTATION = "delivery.io/model-version"
DEFAULT_CONFIGMAP = "shop-settings"
DEFAULT_DEPLOYMENT = "shop-web"
HEADER = "# Written by {dag_id} (airflow-delivery links). Edit through the DAG, not by hand.\n"
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_IMAGE_NAME_RE = re.compile(r"^[a-z0-9]+([._/:-][a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PATH_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True)
class ModelRef:
    """One registered model version, as the app needs it."""

    name: str
    version: str
    uri: str
    run_id: str = ""


class _Dumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump(obj: object) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def validate_overlay(path: str) -> str:
    """A repo-relative folder without ``..``, absolute parts or odd characters."""
    if not isinstance(path, str) or path.startswith("/") or not _PATH_RE.match(path.rstrip("/")) or ".." in path.split("/"):
        raise InputError("path", f"{path!r} is not a folder inside the manifests repo",
                         "give a relative folder such as apps/shop/overlays/dev")
    return path.rstrip("/")


def _load_kustomization(text: str | None, where: str) -> dict:
    if text is None:
        raise InputError("path", f"{where} does not exist", "point path at a Kustomize overlay (a folder with kustomization.yaml)")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(where, f"is not valid YAML: {exc}", "fix the file in the manifests repo") from exc
    if not isinstance(data, dict):
        raise InputError(where, "is not a Kustomization mapping", "fix the file in the manifests repo")
    return data


# --------------------------------------------------------------------------- model
def read_model(read: Callable[[str], str | None], overlay: str) -> dict | None:
    """The model the overlay deploys now ({name, version, uri, run_id}), or None when none is written."""
    overlay = validate_overlay(overlay)
    text = read(posixpath.join(overlay, MODEL_PATCH))
    if not text:
        return None
    data = (yaml.safe_load(text) or {}).get("data") or {}
    if not data.get("MODEL_VERSION"):
        return None
    return {"name": data.get("MODEL_NAME", ""), "version": str(data["MODEL_VERSION"]),
            "uri": data.get("MODEL_URI", ""), "run_id": data.get("MODEL_RUN_ID", "")}


def model_changes(
    read: Callable[[str], str | None],
    overlay: str,
    model: ModelRef,
    *,
    configmap: str = DEFAULT_CONFIGMAP,
    deployment: str = DEFAULT_DEPLOYMENT,
    dag_id: str = "mlops_promote_to_gitops",
) -> dict[str, str]:
    """The files to write so that ``overlay`` serves ``model``: the two patches and the kustomization."""
    overlay = validate_overlay(overlay)
    if not str(model.version).isdigit():
        raise InputError("model version", f"{model.version!r} is not a registry version number", "promote a registered version")
    kpath = posixpath.join(overlay, "kustomization.yaml")
    kust = _load_kustomization(read(kpath), kpath)
    patches = list(kust.get("patches") or [])
    listed = {p.get("path") for p in patches if isinstance(p, dict)}
    for name in (MODEL_PATCH, MODEL_ROLLOUT_PATCH):
        if name not in listed:
            patches.append({"path": name})
    changes: dict[str, str] = {}
    if patches != list(kust.get("patches") or []):
        kust["patches"] = patches
        changes[kpath] = dump(kust)
    header = HEADER.format(dag_id=dag_id)
    changes[posixpath.join(overlay, MODEL_PATCH)] = header + dump({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": configmap},
        "data": {"MODEL_NAME": model.name, "MODEL_VERSION": str(model.version), "MODEL_URI": model.uri,
                 "MODEL_RUN_ID": model.run_id or ""},
    })
    changes[posixpath.join(overlay, MODEL_ROLLOUT_PATCH)] = header + dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": deployment},
        "spec": {"template": {"metadata": {"annotations": {MODEL_ANNOTATION: str(model.version)}}}},
    })
    return {p: t for p, t in changes.items() if read(p) != t}


# --------------------------------------------------------------------------- images
def validate_image(name: str, tag: str | None, digest: str | None) -> None:
    if not isinstance(name, str) or not _IMAGE_NAME_RE.match(name):
        raise InputError("image", f"{name!r} is not an image name", "use e.g. 127.0.0.1:5000/demo-app")
    if tag and not _TAG_RE.match(tag):
        raise InputError("tag", f"{tag!r} is not a valid image tag", "use letters, digits, '.', '_', '-' (max 128)")
    if digest and not _DIGEST_RE.match(digest):
        raise InputError("digest", f"{digest!r} is not a sha256 digest", "use sha256:<64 hex digits> as the registry reported it")
    if not tag and not digest:
        raise InputError("image", "neither a tag nor a digest was given", "give a tag, a digest or both")


def read_image(read: Callable[[str], str | None], overlay: str, manifest_image: str) -> dict | None:
    """The ``images:`` entry for ``manifest_image`` in the overlay's kustomization, or None."""
    overlay = validate_overlay(overlay)
    kpath = posixpath.join(overlay, "kustomization.yaml")
    kust = _load_kustomization(read(kpath), kpath)
    for entry in kust.get("images") or []:
        if isinstance(entry, dict) and entry.get("name") == manifest_image:
            return dict(entry)
    return None


def image_changes(
    read: Callable[[str], str | None],
    overlay: str,
    manifest_image: str,
    new_name: str,
    tag: str | None,
    digest: str | None,
) -> dict[str, str]:
    """Set the overlay's ``images:`` entry for ``manifest_image`` (the name used in the base) to the new image.

    With a digest the image is pinned (rendered as ``name@digest``; the tag stays in the file for people);
    without one only the tag moves.
    """
    overlay = validate_overlay(overlay)
    validate_image(new_name, tag, digest)
    kpath = posixpath.join(overlay, "kustomization.yaml")
    kust = _load_kustomization(read(kpath), kpath)
    images = [dict(e) for e in (kust.get("images") or []) if isinstance(e, dict)]
    entry = next((e for e in images if e.get("name") == manifest_image), None)
    if entry is None:
        entry = {"name": manifest_image}
        images.append(entry)
    entry["newName"] = new_name
    entry.pop("newTag", None)
    entry.pop("digest", None)
    if tag:
        entry["newTag"] = str(tag)
    if digest:
        entry["digest"] = digest
    kust["images"] = images
    text = dump(kust)
    return {kpath: text} if read(kpath) != text else {}

