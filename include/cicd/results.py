"""The shared vocabulary: stage names, result statuses, severities, and the StageResult dict.

A StageResult is a plain JSON-able dict::

    {"stage": "sast", "status": "ok" | "findings" | "failed" | "error" | "not_checked"
                                | "not_built" | "not_requested",
     "message": "one line a person reads", "counts": {"HIGH": 1, ...},
     "findings": [{"tool", "rule", "severity", "file", "line", "message"}], "files": {...}, ...}
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

from include.common.reports import write_report

# Stages a user can choose (checkout, env and gate always run).
STAGES = ("test", "sast", "secrets", "audit", "sbom", "build", "image")


class Status(str, Enum):
    OK = "ok"                        # ran, nothing to report
    FINDINGS = "findings"            # ran, found something (the policy decides if it matters)
    FAILED = "failed"                # ran, the thing it checks is broken (tests failed, build failed)
    ERROR = "error"                  # could not run (tool crashed, input unusable)
    NOT_CHECKED = "not_checked"      # could not check for an outside reason (offline)
    NOT_BUILT = "not_built"          # image: no builder on this machine
    NOT_REQUESTED = "not_requested"  # not in the run's `stages` param


SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def severity_rank(severity: str) -> int:
    """Order of a severity name (unknown names count as MEDIUM, never as harmless)."""
    s = str(severity).upper()
    return SEVERITIES.index(s) if s in SEVERITIES else SEVERITIES.index("MEDIUM")


def count_by_severity(findings: list[dict]) -> dict[str, int]:
    counts = {s: 0 for s in reversed(SEVERITIES)}  # worst first, as people read them
    for f in findings:
        sev = str(f.get("severity", "MEDIUM")).upper()
        counts[sev if sev in counts else "MEDIUM"] += 1
    return {k: v for k, v in counts.items() if v}


def top_findings(findings: list[dict], n: int = 5) -> list[dict]:
    return sorted(findings, key=lambda f: (-severity_rank(f.get("severity", "")), f.get("file", ""), f.get("line", 0)))[:n]


def result(stage: str, status: Status | str, message: str, **fields) -> dict:
    return {"stage": stage, "status": Status(status).value, "message": message, **fields}


def write_stage(report: Path, res: dict) -> Path:
    """Store a stage's result as ``<report>/stages/<stage>.json`` (the gate reads these)."""
    return write_report(Path(report) / "stages", f"{res['stage']}.json", res)


def read_stages(report: Path) -> dict[str, dict]:
    folder = Path(report) / "stages"
    if not folder.is_dir():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}
