"""The release decision: policy + evidence -> verdict, written as an in-toto statement.

The statement goes into the manifests commit that makes the change (``.delivery/releases/``) and
its digest into the commit's trailer ``Delivery-Release-Decision``, so whoever reads the commit can
check which evidence allowed it, and who approved.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from include.common.errors import InputError
from include.release.evidence import Evidence
from include.release.policy import Environment, ReleasePolicy

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://github.com/airflow-delivery/release-decision/v1"
RELEASES_DIR = ".delivery/releases"


class ReleaseBlocked(InputError):
    """The release policy refused the change; the message names every missing piece of evidence.

    An input error: running again without new evidence gets the same answer, so no retries.
    """


@dataclass(frozen=True)
class Decision:
    environment: str
    allowed: bool
    reasons: tuple[str, ...]
    statement: dict[str, Any]

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical()).hexdigest()

    def canonical(self) -> bytes:
        return canonical(self.statement)

    def as_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "allowed": self.allowed, "reasons": list(self.reasons),
                "digest": self.digest, "statement": self.statement}


def subject_digest(subject: dict[str, Any]) -> str:
    """A digest for a subject that has none of its own (a model version: name, version, run id, source)."""
    return hashlib.sha256(json.dumps(subject, sort_keys=True).encode()).hexdigest()


def decide(policy: ReleasePolicy, env: Environment, *, kind: str, subject: dict[str, Any], evidence: list[Evidence],
           target: dict[str, Any], run: dict[str, str], now: datetime | None = None) -> Decision:
    """The verdict for a change of ``kind`` (``model``, ``image``) reaching ``env``.

    :param subject: ``{"name", "digest": {"sha256": ...}}`` of what is released (in-toto subject).
    :param evidence: what the caller checked; every evidence ``env`` requires must be there and hold.
    """
    required = env.required_for(kind)
    by_name = {e.name: e for e in evidence}
    reasons = []
    for name in required:
        item = by_name.get(name)
        if item is None:
            reasons.append(f"{name}: not checked")
        elif not item.ok:
            reasons.append(f"{name}: {item.detail}")
    approved_by = by_name["approval"].source if "approval" in by_name and by_name["approval"].ok else None
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [subject],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "environment": env.name,
            "kind": kind,
            "target": {k: target.get(k) for k in ("repo_url", "branch", "path", "app")},
            "verdict": "allowed" if not reasons else "blocked",
            "reasons": reasons,
            "required": list(required),
            "evidence": [e.as_dict() for e in evidence],
            "approved_by": approved_by,
            "policy": {"path": policy.path, "sha256": policy.sha256},
            "decided_by": run,
            "decided_at": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        },
    }
    return Decision(env.name, not reasons, tuple(reasons), statement)


def check(decision: Decision, what: str) -> None:
    """Raise :class:`ReleaseBlocked` naming every missing piece of evidence."""
    if not decision.allowed:
        raise ReleaseBlocked(f"release of {what} to {decision.environment}",
                             "blocked by the release policy (nothing was committed): " + "; ".join(decision.reasons),
                             "bring the missing evidence named above, then run again "
                             f"(policy {decision.statement['predicate']['policy']['path']})")


def statement_file(decision: dict[str, Any], app: str) -> dict[str, str]:
    """``{path: text}`` of a decision's statement (``Decision.as_dict()``) for the manifests commit.

    The file holds the statement's canonical JSON, so ``sha256sum`` of the file is the digest in
    its name and in the commit's trailer.
    """
    digest = decision["digest"].split(":", 1)[1]
    return {f"{RELEASES_DIR}/{app}/{digest}.json": canonical(decision["statement"]).decode()}


def canonical(statement: dict[str, Any]) -> bytes:
    """The bytes a decision's digest is taken over: sorted keys, no spaces."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
