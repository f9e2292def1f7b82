"""One result type for what a sync did to each resource: applied or pruned, and how.

``action`` is an :class:`Action` and ``status`` the HTTP status of the API server's refusal (0:
it was done, or the server did not answer), so callers decide on the action and the status,
never on the text of a message (as gitops-engine's ``ResourceSyncResult`` does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from include.gitops.types import ResourceKey


class Action(enum.StrEnum):
    """What happened to one resource (the strings are those of reports and history)."""

    CREATED = "created"
    CONFIGURED = "configured"
    REPLACED = "replaced"  # apply policy Replace: deleted and created again (an immutable field changed)
    CONFLICT = "conflict"  # another field manager owns a field (HTTP 409); force=true takes it over
    FAILED = "failed"
    PRUNED = "pruned"
    WOULD_PRUNE = "would-prune"  # prune off, or a dry run: left in the cluster
    PROTECTED = "protected"  # annotated never to be pruned
    GONE = "gone"  # already deleted by someone else


FAILURES = frozenset({Action.CONFLICT, Action.FAILED})


@dataclass
class ResourceResult:
    key: ResourceKey
    action: Action
    message: str = ""
    status: int = 0

    @property
    def failed(self) -> bool:
        return self.action in FAILURES

    @property
    def refused(self) -> bool:
        """The API server refused it with a 4xx (invalid, forbidden, a conflict): a retry cannot help."""
        return self.failed and 400 <= self.status < 500

    def as_dict(self) -> dict[str, Any]:
        return {"resource": str(self.key), "display": self.key.display, "action": self.action.value,
                "message": self.message, "status": self.status}
