"""Per-object apply policy, as an annotation (Flux's ``kustomize.toolkit.fluxcd.io/ssa`` values).

``delivery.io/apply-policy``:

- ``Override`` (default): server-side apply as our field manager, every sync;
- ``IfNotPresent``: created when missing, never changed afterwards (a Secret someone rotates by
  hand, a PVC); never counted as drift once it exists;
- ``Ignore``: never applied, never counted as drift, never pruned (an object Git keeps only as
  documentation, or one handed over to another tool);
- ``Replace``: applied like Override, but a change the API server refuses because a field is
  immutable (a Job's template, a Service's clusterIP, a selector) deletes the object and creates
  it again (Flux's ``kustomize.toolkit.fluxcd.io/force: Enabled``, Argo CD's ``Replace=true``).

Flux's own annotation is read too (``Merge`` is our Override). A value that is neither fails the
validate step, naming the object and the allowed values.
"""

from __future__ import annotations

import enum
from typing import Any

from include.common.errors import InputError
from include.gitops.types import ResourceKey, annotations_of

ANNOTATION_APPLY_POLICY = "delivery.io/apply-policy"
FLUX_SSA = "kustomize.toolkit.fluxcd.io/ssa"


class ApplyPolicy(enum.StrEnum):
    OVERRIDE = "Override"
    IF_NOT_PRESENT = "IfNotPresent"
    IGNORE = "Ignore"
    REPLACE = "Replace"


def apply_policy(obj: dict[str, Any]) -> ApplyPolicy:
    """The object's apply policy (default Override); InputError for a value that is none."""
    annotations = annotations_of(obj)
    raw = annotations.get(ANNOTATION_APPLY_POLICY) or annotations.get(FLUX_SSA)
    if not raw or str(raw).strip().lower() == "merge":  # Flux's Merge is our default
        return ApplyPolicy.OVERRIDE
    value = str(raw).strip()
    for policy in ApplyPolicy:
        if policy.value.lower() == value.lower():
            return policy
    raise InputError(f"{ResourceKey.of(obj).display} annotation {ANNOTATION_APPLY_POLICY}",
                     f"{raw!r} is not an apply policy", f"use one of {', '.join(p.value for p in ApplyPolicy)}")


def left_alone(obj: dict[str, Any], *, exists: bool) -> str:
    """Why a sync leaves ``obj`` alone ("" when it applies it): Ignore, or IfNotPresent and it exists."""
    policy = apply_policy(obj)
    if policy is ApplyPolicy.IGNORE:
        return f"apply policy {policy.value}: never applied"
    if policy is ApplyPolicy.IF_NOT_PRESENT and exists:
        return f"apply policy {policy.value}: it exists, so it is not changed"
    return ""


def immutable_refusal(status: int, causes: list[dict[str, Any]], message: str) -> bool:
    """The API server refused a change because a field is immutable (422 Invalid)."""
    texts = [str(c.get("message", "")) for c in causes] or [message]
    return status == 422 and any("immutable" in t for t in texts)
