"""The ``sast`` stage: bandit and semgrep (local rules only, no download, no metrics) -> SARIF.

Tests (``tests/``) are excluded: asserts and loopback URLs there are not findings about the app.
"""

from __future__ import annotations

from pathlib import Path

from include.cicd.proc import ToolMissing, clean_env, run, tool
from include.cicd.results import Status, count_by_severity, result, top_findings
from include.cicd.sarif import parse_sarif

SEMGREP_RULES = Path(__file__).parent / "semgrep"
EXCLUDE = ("tests", ".git", "build", "dist", ".venv")


def run_bandit(checkout: Path, out: Path) -> dict:
    excludes = ",".join(str(checkout / e) for e in EXCLUDE)
    proc = run([tool("bandit"), "-r", str(checkout), "-x", excludes, "-f", "sarif", "-o", str(out), "-q"],
               cwd=checkout, timeout=600)
    if not out.exists() or proc.returncode not in (0, 1):
        raise RuntimeError(f"bandit failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    return {"findings": parse_sarif(out, checkout), "seconds": round(proc.seconds, 2)}


def run_semgrep(checkout: Path, out: Path, rules: Path = SEMGREP_RULES) -> dict:
    home = out.parent / ".semgrep-home"
    home.mkdir(exist_ok=True)
    env = clean_env({"HOME": str(home), "SEMGREP_SEND_METRICS": "off", "SEMGREP_ENABLE_VERSION_CHECK": "0",
                     "SEMGREP_LOG_FILE": str(home / "semgrep.log"), "SEMGREP_SETTINGS_FILE": str(home / "settings.yml"),
                     "SEMGREP_VERSION_CACHE_PATH": str(home / "version")})
    args = [tool("semgrep"), "scan", "--config", str(rules), "--metrics=off", "--disable-version-check",
            "--sarif", "--output", str(out), "--quiet", "--oss-only"]
    for e in EXCLUDE:
        args += ["--exclude", e]
    proc = run([*args, str(checkout)], cwd=checkout, env=env, timeout=900)
    if not out.exists() or proc.returncode not in (0, 1):
        raise RuntimeError(f"semgrep failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    return {"findings": parse_sarif(out, checkout), "seconds": round(proc.seconds, 2)}


def run_sast(checkout: Path, report: Path) -> dict:
    per_tool, findings, errors = {}, [], []
    for name, fn in (("bandit", run_bandit), ("semgrep", run_semgrep)):
        try:
            out = fn(checkout, report / f"{name}.sarif")
            per_tool[name] = {"counts": count_by_severity(out["findings"]), "seconds": out["seconds"],
                              "sarif": f"{name}.sarif"}
            findings += out["findings"]
        except (ToolMissing, RuntimeError) as exc:
            errors.append(f"{name}: {exc}")
            per_tool[name] = {"error": str(exc)}
    counts = count_by_severity(findings)
    if errors:
        status, msg = Status.ERROR, "; ".join(errors)
    elif findings:
        status = Status.FINDINGS
        msg = f"{len(findings)} finding(s): " + ", ".join(f"{n} {s}" for s, n in counts.items())
    else:
        status, msg = Status.OK, "no findings from bandit and semgrep"
    return result("sast", status, msg, counts=counts, per_tool=per_tool, findings=top_findings(findings, 50),
                  total=len(findings), files={t: f"{t}.sarif" for t in per_tool if "sarif" in per_tool[t]})
