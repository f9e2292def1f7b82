"""JUnit XML and Cobertura coverage XML: the counts and the failed test cases."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parses files our own pytest run wrote
from pathlib import Path


def parse_junit(path: Path) -> dict:
    """Counts (tests, failures, errors, skipped, passed) and the failing cases with their messages."""
    root = ET.parse(path).getroot()  # noqa: S314
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed = []
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0) or 0)
        for case in suite.iter("testcase"):
            for kind in ("failure", "error"):
                node = case.find(kind)
                if node is not None:
                    failed.append({
                        "test": f"{case.get('classname', '')}::{case.get('name', '')}",
                        "file": case.get("file", ""), "line": int(case.get("line", 0) or 0),
                        "kind": kind, "message": (node.get("message") or "").splitlines()[0][:300] if node.get("message") else "",
                    })
    totals["passed"] = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    return {**totals, "failed_cases": failed}


def parse_coverage(path: Path) -> dict:
    """Line coverage percent from a Cobertura XML (``coverage xml``), plus the least-covered files."""
    root = ET.parse(path).getroot()  # noqa: S314
    percent = round(float(root.get("line-rate", 0)) * 100, 2)
    files = []
    for cls in root.iter("class"):
        files.append({"file": cls.get("filename", ""), "percent": round(float(cls.get("line-rate", 0)) * 100, 1)})
    files.sort(key=lambda f: f["percent"])
    return {"percent": percent, "lines_valid": int(root.get("lines-valid", 0) or 0),
            "lines_covered": int(root.get("lines-covered", 0) or 0), "least_covered": files[:5]}
