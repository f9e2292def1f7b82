"""SARIF 2.1.0 -> normalized findings ``{tool, rule, severity, file, line, message}``.

bandit puts its own severity in ``properties.issue_severity``; semgrep (and most tools) only set
``level``. Levels map error -> HIGH, warning -> MEDIUM, note -> LOW, none -> INFO; a rule's
``properties.security-severity`` (CVSS-like number, as GitHub reads it) wins when present.
"""

from __future__ import annotations

import json
from pathlib import Path

LEVELS = {"error": "HIGH", "warning": "MEDIUM", "note": "LOW", "none": "INFO"}


def _cvss(score: float) -> str:
    return "CRITICAL" if score >= 9 else "HIGH" if score >= 7 else "MEDIUM" if score >= 4 else "LOW" if score > 0 else "INFO"


def _rel(uri: str, root: str | None) -> str:
    uri = uri.removeprefix("file://")
    if root and uri.startswith(root.rstrip("/") + "/"):
        return uri[len(root.rstrip("/")) + 1:]
    return uri


def parse_sarif(data: dict | str | Path, root: str | Path | None = None) -> list[dict]:
    if isinstance(data, (str, Path)) and not (isinstance(data, str) and data.lstrip().startswith("{")):
        data = json.loads(Path(data).read_text())
    elif isinstance(data, str):
        data = json.loads(data)
    root = str(root) if root else None
    findings = []
    for run in data.get("runs", []):
        tool = run.get("tool", {}).get("driver", {})
        tool_name = (tool.get("name") or "unknown").split()[0].lower()  # "Semgrep OSS" -> "semgrep"
        rules = {r.get("id"): r for r in tool.get("rules", []) or []}
        for res in run.get("results", []) or []:
            rule_id = res.get("ruleId") or (res.get("rule") or {}).get("id", "")
            rule = rules.get(rule_id, {})
            props = {**(rule.get("properties") or {}), **(res.get("properties") or {})}
            level = res.get("level") or (rule.get("defaultConfiguration") or {}).get("level") or "warning"
            if props.get("issue_severity"):
                severity = str(props["issue_severity"]).upper()
            elif props.get("security-severity") not in (None, ""):
                severity = _cvss(float(props["security-severity"]))
            else:
                severity = LEVELS.get(level, "MEDIUM")
            loc = ((res.get("locations") or [{}])[0].get("physicalLocation") or {})
            findings.append({
                "tool": tool_name,
                "rule": rule_id.split(".")[-1] if tool_name == "semgrep" else rule_id,
                "severity": severity,
                "file": _rel((loc.get("artifactLocation") or {}).get("uri", ""), root),
                "line": int((loc.get("region") or {}).get("startLine", 0) or 0),
                "message": ((res.get("message") or {}).get("text") or "").strip().splitlines()[0][:300] if res.get("message") else "",
            })
    return findings
