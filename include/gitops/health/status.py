"""One enum for health, with an ordering so that "the worst child wins" is one function."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable


class HealthCode(str, Enum):
    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def rank(self) -> int:
        """Argo CD's order: Healthy < Suspended < Progressing < Missing < Degraded < Unknown."""
        return _ORDER.index(self)


_ORDER = [
    HealthCode.HEALTHY,
    HealthCode.SUSPENDED,
    HealthCode.PROGRESSING,
    HealthCode.MISSING,
    HealthCode.DEGRADED,
    HealthCode.UNKNOWN,
]


@dataclass(frozen=True)
class HealthStatus:
    code: HealthCode
    message: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"status": self.code.value, "message": self.message}


def healthy(message: str = "") -> HealthStatus:
    return HealthStatus(HealthCode.HEALTHY, message)


def progressing(message: str) -> HealthStatus:
    return HealthStatus(HealthCode.PROGRESSING, message)


def degraded(message: str) -> HealthStatus:
    return HealthStatus(HealthCode.DEGRADED, message)


def suspended(message: str) -> HealthStatus:
    return HealthStatus(HealthCode.SUSPENDED, message)


def worst(statuses: Iterable[HealthStatus | HealthCode]) -> HealthCode:
    """The worst code among ``statuses`` (Healthy for none)."""
    codes = [s.code if isinstance(s, HealthStatus) else s for s in statuses]
    return max(codes, key=lambda c: c.rank, default=HealthCode.HEALTHY)


def condition(obj: dict, ctype: str) -> dict | None:
    """The status condition of type ``ctype``, or None."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def generation_observed(obj: dict) -> bool:
    """True when the controller has seen the latest spec (status.observedGeneration >= generation)."""
    generation = (obj.get("metadata") or {}).get("generation") or 0
    observed = (obj.get("status") or {}).get("observedGeneration") or 0
    return observed >= generation
