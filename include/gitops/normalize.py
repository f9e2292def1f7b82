"""Normalizers: make a desired and a live object comparable.

A normalizer is anything with ``normalize(obj) -> obj`` (gitops-engine's ``diff.Normalizer``).
Built-in fixes run first (drop server-populated fields, Secret ``stringData`` -> ``data``),
then the user's (ignore rules are normalizers too, see :mod:`include.gitops.ignore`).
Normalizers never change their input; they return a new object.
"""

from __future__ import annotations

import base64
import copy
from typing import Any, Iterable, Protocol

# Set by the API server, never by a user: they would always look like drift.
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
)
SERVER_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)


class Normalizer(Protocol):
    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]: ...


class ServerFieldsNormalizer:
    """Drops ``status`` and server-populated metadata; empty label/annotation maps go too."""

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        # Only the top level, metadata and annotations are changed, so only they are copied:
        # a deep copy of every object was most of the time of a 2,000-object drift check.
        out = {k: v for k, v in obj.items() if k != "status"}
        meta = out.get("metadata")
        if isinstance(meta, dict):
            meta = out["metadata"] = {k: v for k, v in meta.items() if k not in SERVER_METADATA}
            annotations = meta.get("annotations")
            if isinstance(annotations, dict):
                annotations = meta["annotations"] = {k: v for k, v in annotations.items() if k not in SERVER_ANNOTATIONS}
            for key in ("annotations", "labels"):
                if key in meta and not meta[key]:
                    meta.pop(key)
            if meta.get("namespace") == "":
                meta.pop("namespace")
        return out


class SecretNormalizer:
    """``stringData`` is write-only: the server merges it into ``data`` (base64)."""

    def normalize(self, obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1" or "stringData" not in obj:
            return obj
        out = copy.deepcopy(obj)
        data = dict(out.get("data") or {})
        for key, value in (out.pop("stringData") or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
        return out


BUILTIN_NORMALIZERS: tuple[Normalizer, ...] = (ServerFieldsNormalizer(), SecretNormalizer())


def normalize(obj: dict[str, Any], normalizers: Iterable[Normalizer] = ()) -> dict[str, Any]:
    """Built-in normalizers first, then ``normalizers`` in order."""
    for normalizer in (*BUILTIN_NORMALIZERS, *normalizers):
        obj = normalizer.normalize(obj)
    return obj
