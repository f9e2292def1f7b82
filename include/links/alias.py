"""When has an MLflow alias moved? The rule of the promotion sensor, and its poll schedule.

A registered model's alias (``champion``) "changed" when it points at a version other than the
baseline: the version given by the caller, usually the one deployed now (read from the
manifests). No baseline means nothing is deployed yet: any version counts.
"""

from __future__ import annotations

from dataclasses import dataclass


def alias_changed(current: dict | None, baseline_version: str | int | None) -> bool:
    """True when ``current`` (the alias's model version as a dict, or None) differs from the baseline."""
    if current is None or current.get("version") in (None, ""):
        return False  # no model or no alias yet: keep waiting
    if baseline_version in (None, ""):
        return True
    return str(current["version"]) != str(baseline_version)


@dataclass(frozen=True)
class PollSchedule:
    """Seconds between polls: ``interval`` first, multiplied by ``backoff`` after each poll up to ``max_interval``.

    Errors (MLflow unreachable) back off the same way; ``max_errors`` consecutive errors end the wait.
    """

    interval: float = 5.0
    backoff: float = 1.5
    max_interval: float = 15.0
    max_errors: int = 5

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.max_interval < self.interval:
            raise ValueError(f"poll interval must be > 0 and <= max_interval, got {self.interval}/{self.max_interval}")
        if self.backoff < 1:
            raise ValueError(f"backoff must be >= 1 (1 = fixed interval), got {self.backoff}")

    def next(self, current: float) -> float:
        return min(current * self.backoff, self.max_interval)
