"""The ``secrets`` stage: detect-secrets over the checkout, compared with the repo's baseline.

A secret listed in ``.secrets.baseline`` (same file and hashed secret) is known and audited; it
is new otherwise. Baseline entries audited as real secrets (``is_secret: true``) still count.
"""

from __future__ import annotations

import json
from pathlib import Path

from include.cicd.proc import ToolMissing, run, tool
from include.cicd.results import Status, result
from include.common.reports import write_report

BASELINE = ".secrets.baseline"


def scan(checkout: Path) -> dict:
    proc = run([tool("detect-secrets"), "scan", "--all-files", "--exclude-files",
                r"(^|/)(\.git|\.venv|build|dist)/|\.secrets\.baseline$"], cwd=checkout, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"detect-secrets failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout)


def compare(found: dict, baseline: dict | None) -> tuple[list[dict], int]:
    """(new secrets, number accepted by the baseline)."""
    known = set()
    for fname, items in ((baseline or {}).get("results") or {}).items():
        for item in items:
            if item.get("is_secret") is not True:
                known.add((fname, item.get("hashed_secret")))
    new, accepted = [], 0
    for fname, items in (found.get("results") or {}).items():
        for item in items:
            if (fname, item.get("hashed_secret")) in known:
                accepted += 1
            else:
                new.append({"tool": "detect-secrets", "rule": item.get("type", "secret"), "severity": "HIGH",
                            "file": fname, "line": int(item.get("line_number", 0) or 0),
                            "message": f"{item.get('type', 'secret')} not in {BASELINE}"})
    return new, accepted


def run_secrets(checkout: Path, report: Path) -> dict:
    try:
        found = scan(checkout)
    except (ToolMissing, RuntimeError) as exc:
        return result("secrets", Status.ERROR, str(exc))
    baseline_path = checkout / BASELINE
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    new, accepted = compare(found, baseline)
    write_report(report, "secrets.json", {"new": new, "accepted_by_baseline": accepted,
                                          "baseline": BASELINE if baseline else None})
    note = "" if baseline else f" (no {BASELINE} in the repo: every secret is new)"
    if new:
        msg = f"{len(new)} new secret(s) not in the baseline{note}: " + ", ".join(f"{f['file']}:{f['line']}" for f in new[:5])
        return result("secrets", Status.FINDINGS, msg, counts={"HIGH": len(new)}, findings=new, new=len(new),
                      accepted=accepted, files={"secrets": "secrets.json"})
    return result("secrets", Status.OK, f"no new secrets ({accepted} accepted by the baseline){note}",
                  counts={}, findings=[], new=0, accepted=accepted, files={"secrets": "secrets.json"})
