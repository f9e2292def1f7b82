"""What people read: a few log lines per stage, and summary.md / summary.html per run."""

from __future__ import annotations

import html
from pathlib import Path

from include.cicd.results import STAGES, count_by_severity, top_findings
from include.common.reports import write_report

ICON = {"pass": "PASS", "warn": "WARN", "fail": "FAIL", "not_requested": "-"}


def log_summary(res: dict, top: int = 5) -> str:
    """The stage summary for the task log: status, counts by severity, top findings file:line, test counts."""
    lines = [f"[{res['stage']}] {res['status'].upper()}: {res['message']}"]
    counts = res.get("counts") or {}
    if res["stage"] == "test" and counts:
        lines.append("  tests: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        cov = (res.get("coverage") or {}).get("percent")
        if cov is not None:
            lines.append(f"  line coverage: {cov}%")
    elif counts:
        lines.append("  by severity: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    for f in top_findings(res.get("findings") or [], top):
        lines.append(f"  {f['severity']:<8} {f['tool']}:{f['rule']} {f['file']}:{f['line']} {f['message'][:140]}")
    for name, path in (res.get("files") or {}).items():
        if path:
            lines.append(f"  {name}: {path}")
    return "\n".join(lines)


def _rows(stages: dict[str, dict], verdict: dict) -> list[tuple[str, str, str]]:
    rows = []
    for stage in ("checkout", "env", *STAGES):
        res = stages.get(stage)
        gate = verdict.get("stages", {}).get(stage, "pass" if res else "-")
        rows.append((stage, ICON.get(gate, gate), res["message"] if res else "did not run"))
    return rows


def write_summary(report: Path, params: dict, stages: dict[str, dict], verdict: dict, extra: dict | None = None) -> dict:
    """Write summary.md and summary.html into the report folder; return their names."""
    checkout = stages.get("checkout", {})
    findings = [f for res in stages.values() for f in (res.get("findings") or [])]
    head = [f"# CI/CD report: {params.get('repo_url')} @ {checkout.get('sha', '?')[:12]}", "",
            f"**Gate verdict: {verdict['verdict'].upper()}** (policy `{Path(params.get('gate_policy', '')).name}`)", ""]
    for r in verdict.get("reasons", []):
        head.append(f"- **{r['level']}** `{r['stage']}`: {r['message']}")
    md = [*head, "", "| stage | gate | result |", "|---|---|---|"]
    md += [f"| {s} | {g} | {m.replace('|', '/')} |" for s, g, m in _rows(stages, verdict)]
    test = stages.get("test", {})
    if test.get("counts"):
        md += ["", "## Tests", "", ", ".join(f"{k}: {v}" for k, v in test["counts"].items()) +
               f"; line coverage {(test.get('coverage') or {}).get('percent')}%"]
    md += ["", "## Findings by severity", "",
           ", ".join(f"{k}: {v}" for k, v in count_by_severity(findings).items()) or "none", ""]
    for f in top_findings(findings, 10):
        md.append(f"- {f['severity']} `{f['tool']}:{f['rule']}` {f['file']}:{f['line']}: {f['message'][:200]}")
    if extra:
        md += ["", "## Image", ""] + [f"- {k}: `{v}`" for k, v in extra.items()]
    md += ["", "## Files", "", "junit.xml, coverage.xml, bandit.sarif, semgrep.sarif, secrets.json, pip-audit.json, "
           "sbom.cdx.json, dist/, gate.json, stages/*.json (whichever stages ran)", ""]
    write_report(report, "summary.md", "\n".join(md))
    esc = html.escape
    rows = "".join(f"<tr><td>{esc(s)}</td><td class='{esc(g)}'>{esc(g)}</td><td>{esc(m)}</td></tr>"
                   for s, g, m in _rows(stages, verdict))
    reasons = "".join(f"<li><b>{esc(r['level'])}</b> {esc(r['stage'])}: {esc(r['message'])}</li>" for r in verdict.get("reasons", []))
    tops = "".join(f"<li>{esc(f['severity'])} {esc(f['tool'])}:{esc(f['rule'])} {esc(f['file'])}:{f['line']} "
                   f"{esc(f['message'][:200])}</li>" for f in top_findings(findings, 10))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>CI/CD report</title><style>"
            "body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px 8px}"
            "table{border-collapse:collapse}.FAIL{color:#b00;font-weight:bold}.WARN{color:#a60}.PASS{color:#080}"
            f"</style></head><body><h1>{esc(str(params.get('repo_url')))} @ {esc(checkout.get('sha', '?')[:12])}</h1>"
            f"<h2>Gate verdict: {esc(verdict['verdict'].upper())}</h2><ul>{reasons}</ul>"
            f"<table><tr><th>stage</th><th>gate</th><th>result</th></tr>{rows}</table>"
            f"<h2>Top findings</h2><ul>{tops or '<li>none</li>'}</ul></body></html>")
    write_report(report, "summary.html", page)
    return {"markdown": "summary.md", "html": "summary.html"}
