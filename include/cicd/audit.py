"""The ``audit`` stage: known vulnerabilities of the app's pinned lock (pip-audit, then recorded advisories).

1. ``pip-audit -r <lock> --disable-pip --no-deps [--require-hashes]`` reads the pins without
   installing anything and asks the index for each pinned version's vulnerabilities.
2. A package pip-audit could not check (index unreachable, or the index serves no per-version
   data, as the package proxy on these machines does) is matched against the recorded advisories
   in include/cicd/advisories.json instead.
3. If some packages stayed unchecked by the live index, the stage is ``not_checked``
   ("not checked: offline ...") unless the recorded advisories already found a vulnerability:
   the policy turns not_checked into a failure or a warning, never a silent pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from include.cicd.proc import ToolMissing, clean_env, run, tool
from include.cicd.results import Status, result
from include.common.reports import write_report

ADVISORIES = Path(__file__).parent / "advisories.json"
_OFFLINE = re.compile(r"(ConnectionError|Max retries exceeded|NameResolutionError|Temporary failure in name resolution|"
                      r"Failed to establish a new connection|ProxyError|timed out|Network is unreachable|"
                      r"ConnectTimeout|ReadTimeout|SSLError)", re.I)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def pins(lock: Path) -> dict[str, str]:
    """name (normalized) -> pinned version, from a requirements-style lock."""
    return {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in _PIN.findall(lock.read_text())}


def recorded_matches(pinned: dict[str, str], advisories: Path = ADVISORIES) -> list[dict]:
    """Vulnerabilities the recorded advisories know for the pinned versions."""
    from packaging.version import Version

    data = json.loads(advisories.read_text())
    out = []
    for adv in data["advisories"]:
        version = pinned.get(adv["package"].lower())
        if version is None:
            continue
        v = Version(version)
        if any(Version(lo) <= v < Version(hi) for lo, hi in adv["ranges"]):
            fixes = [hi for lo, hi in adv["ranges"] if Version(lo) <= v]
            out.append({"name": adv["package"], "version": version, "id": adv["id"], "aliases": adv.get("aliases", []),
                        "fix_versions": fixes[:1], "source": f"recorded advisories ({data.get('recorded', '?')})",
                        "summary": adv.get("summary", "")})
    return out


def _finding(lock: Path, name: str, version: str, vuln: dict) -> dict:
    fixes = ", ".join(vuln.get("fix_versions") or []) or "none"
    alias = f" / {vuln['aliases'][0]}" if vuln.get("aliases") else ""
    return {"tool": "pip-audit", "rule": vuln.get("id", ""), "severity": "HIGH", "file": lock.name, "line": 0,
            "package": name, "version": version, "source": vuln.get("source", "package index"),
            "message": f"{name}=={version}: {vuln.get('id')}{alias} (fixed in {fixes})"}


def run_audit(lock: Path, report: Path, *, env_extra: dict[str, str] | None = None, timeout: float = 300) -> dict:
    out = report / "pip-audit.json"
    out.unlink(missing_ok=True)
    pinned = pins(lock)
    try:
        args = [tool("pip-audit"), "-r", str(lock), "--disable-pip", "--format", "json", "--output", str(out),
                "--progress-spinner", "off", "--timeout", "20"]
    except ToolMissing as exc:
        return result("audit", Status.ERROR, str(exc))
    args += ["--require-hashes"] if "--hash=" in lock.read_text() else ["--no-deps"]
    proc = run(args, env=clean_env(env_extra), timeout=timeout)
    text = proc.stderr + proc.stdout
    findings: list[dict] = []
    unchecked: dict[str, str] = {}
    if proc.returncode in (0, 1) and out.exists() and out.read_text().strip():
        data = json.loads(out.read_text())
        for dep in data.get("dependencies", []):
            name = re.sub(r"[-_.]+", "-", dep.get("name", "")).lower()
            if dep.get("skip_reason"):
                unchecked[name] = dep["skip_reason"]
            for vuln in dep.get("vulns", []) or []:
                findings.append(_finding(lock, name, dep.get("version", ""), vuln))
        why_unchecked = "no vulnerability data: the index served none for these versions"
    elif _OFFLINE.search(text) or proc.returncode == 124:
        unchecked = dict.fromkeys(pinned, "index unreachable")
        why_unchecked = f"offline: the index could not be reached: {_OFFLINE.search(text).group(0) if _OFFLINE.search(text) else 'timed out'}"
    else:
        return result("audit", Status.ERROR, f"pip-audit failed (exit {proc.returncode}): {text.strip()[-400:]}")
    recorded = recorded_matches({n: pinned[n] for n in unchecked if n in pinned})
    findings += [_finding(lock, r["name"], r["version"], r) for r in recorded]
    write_report(report, "audit.json", {"findings": findings, "unchecked_by_index": unchecked,
                                        "pip_audit_exit": proc.returncode})
    files = {"audit": "audit.json", "pip_audit": "pip-audit.json" if out.exists() else None}
    common = {"packages": len(pinned), "unchecked": sorted(unchecked), "files": files, "seconds": round(proc.seconds, 2)}
    if findings:
        pkgs = sorted({f"{f['package']}=={f['version']}" for f in findings})
        src = "recorded advisories" if all(f["source"] != "package index" for f in findings) else "the package index"
        return result("audit", Status.FINDINGS,
                      f"{len(findings)} known vulnerabilit{'y' if len(findings) == 1 else 'ies'} in {', '.join(pkgs)} (from {src})",
                      counts={"HIGH": len(findings)}, findings=findings, **common)
    if unchecked:
        return result("audit", Status.NOT_CHECKED,
                      f"not checked: {why_unchecked} ({len(unchecked)} of {len(pinned)} pinned packages; the recorded "
                      "advisories know no vulnerability for them)",
                      counts={}, findings=[], **common)
    return result("audit", Status.OK, f"no known vulnerabilities in {len(pinned)} pinned packages",
                  counts={}, findings=[], **common)
