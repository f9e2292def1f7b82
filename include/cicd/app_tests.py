"""The ``test`` stage: the app's unit and integration tests in its own venv, with coverage.

Writes ``junit.xml`` and ``coverage.xml`` into the report folder.
"""

from __future__ import annotations

from pathlib import Path

from include.cicd.junit import parse_coverage, parse_junit
from include.cicd.proc import clean_env, run
from include.cicd.results import Status, result
from include.common.reports import write_report


def run_tests(checkout: Path, venv: Path, report: Path, work: Path, timeout: float = 900) -> dict:
    python = str(Path(venv) / "bin" / "python")
    junit, cov_xml = report / "junit.xml", report / "coverage.xml"
    env = clean_env({"COVERAGE_FILE": str(work / ".coverage")})
    config = next((c for c in ("pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini") if (checkout / c).exists()), None)
    args = [python, "-m", "coverage", "run", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            f"--junitxml={junit}", "--rootdir", str(checkout)]
    if config:
        args += ["-c", str(checkout / config)]
    proc = run(args, cwd=checkout, env=env, timeout=timeout)
    write_report(report, "test-output.txt", proc.stdout + "\n" + proc.stderr)
    if not junit.exists():
        return result("test", Status.ERROR, f"pytest wrote no JUnit XML (exit {proc.returncode}): "
                      f"{(proc.stderr or proc.stdout).strip()[-400:]}", exit_code=proc.returncode)
    counts = parse_junit(junit)
    cov = {"percent": None}
    xml = run([python, "-m", "coverage", "xml", "-o", str(cov_xml)], cwd=checkout, env=env, timeout=300)
    if xml.returncode == 0 and cov_xml.exists():
        cov = parse_coverage(cov_xml)
    broken = counts["failures"] + counts["errors"]
    if counts["tests"] == 0:
        status, msg = Status.FAILED, "no tests were collected"
    elif broken or proc.returncode not in (0,):
        status = Status.FAILED
        msg = f"{broken} of {counts['tests']} tests failed" if broken else f"pytest exited {proc.returncode}"
    else:
        status, msg = Status.OK, f"{counts['passed']} passed, {counts['skipped']} skipped"
    if cov["percent"] is not None:
        msg += f"; line coverage {cov['percent']}%"
    findings = [{"tool": "pytest", "rule": c["kind"], "severity": "HIGH", "file": c["file"], "line": c["line"],
                 "message": f"{c['test']}: {c['message']}"} for c in counts["failed_cases"]]
    return result("test", status, msg, counts={k: counts[k] for k in ("tests", "passed", "failures", "errors", "skipped")},
                  coverage=cov, findings=findings,
                  files={"junit": "junit.xml", "coverage": "coverage.xml" if cov_xml.exists() else None,
                         "output": "test-output.txt"}, seconds=round(proc.seconds, 2))
