"""Trace ids in commit messages: Git trailers (``Delivery-Model-Version: 3``) a person and
``git log --format=%(trailers)`` can both read, so a Deployment can be walked back to its inputs.

The same keys are used as MLflow model-version tags (``delivery.<key>``) and in reports.
"""

from __future__ import annotations

TRAILER_PREFIX = "Delivery-"
TAG_PREFIX = "delivery."
# Trace keys, in the order they are written.
KEYS = (
    "dag_id", "dag_run_id", "model_name", "model_version", "previous_version", "mlflow_run_id", "model_uri",
    "data_hash", "image", "image_tag", "image_digest", "source_commit", "ci_run", "manifests_commit", "release_decision",
    "reason",
)


def trailer_key(key: str) -> str:
    """``model_version`` -> ``Delivery-Model-Version``."""
    return TRAILER_PREFIX + "-".join(part.capitalize() for part in key.split("_"))


def _clean(value: object) -> str:
    return " ".join(str(value).split())  # one line: a trailer cannot span lines


def commit_message(subject: str, body: str, trace: dict[str, object]) -> str:
    """``subject``, a blank line, ``body``, a blank line, then one trailer per non-empty trace id."""
    subject = _clean(subject)[:100]
    keys = [k for k in KEYS if k in trace] + sorted(k for k in trace if k not in KEYS)
    trailers = [f"{trailer_key(k)}: {_clean(trace[k])}" for k in keys if trace[k] not in (None, "")]
    parts = [subject]
    if body.strip():
        parts += ["", body.strip()]
    if trailers:
        parts += ["", *trailers]
    return "\n".join(parts) + "\n"



def model_version_tags(trace: dict[str, object]) -> dict[str, str]:
    """The trace ids as MLflow model-version tags (``delivery.manifests_commit``...)."""
    return {f"{TAG_PREFIX}{k}": _clean(v)[:5000] for k, v in trace.items() if v not in (None, "")}
