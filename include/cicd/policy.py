"""The gate: one policy file + every stage's result -> verdict (pass / warn / fail) with reasons.

``evaluate`` is a pure function: no files, no clock, no network. Every reason names the stage,
its level (``fail`` or ``warn``) and what was seen against what the policy allows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from include.common.errors import InputError
from include.cicd.results import SEVERITIES, STAGES, severity_rank

LEVELS = ("fail", "warn")


@dataclass(frozen=True)
class Reason:
    stage: str
    level: str  # fail | warn
    message: str


@dataclass
class Verdict:
    verdict: str  # pass | warn | fail
    reasons: list[Reason] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)  # stage -> pass | warn | fail | not_requested

    def failed_stages(self) -> list[str]:
        return [s for s, v in self.stages.items() if v == "fail"]

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": [asdict(r) for r in self.reasons], "stages": self.stages,
                "failed_stages": self.failed_stages()}


def load_policy(path: str | Path) -> dict:
    """Read and check a policy file (YAML or JSON)."""
    path = Path(path)
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
    else:
        import yaml

        data = yaml.safe_load(text)
    check_policy(data, str(path))
    return data


def check_policy(policy: dict, what: str = "policy") -> None:
    if not isinstance(policy, dict) or not isinstance(policy.get("stages"), dict):
        raise InputError(what, "has no `stages:` mapping", "start from include/cicd/policy/default.yaml")
    for stage, rules in policy["stages"].items():
        if stage not in STAGES:
            raise InputError(what, f"unknown stage {stage!r}", f"stages are {list(STAGES)}")
        for key, value in (rules or {}).items():
            if key.startswith("on_") and value not in LEVELS:
                raise InputError(what, f"stages.{stage}.{key} is {value!r}", "use 'fail' or 'warn'")
        for scanner, sev in ((rules or {}).get("max_severity") or {}).items():
            if str(sev).upper() not in SEVERITIES:
                raise InputError(what, f"stages.{stage}.max_severity.{scanner} is {sev!r}", f"use one of {list(SEVERITIES)}")
    if policy.get("on_error", "fail") not in LEVELS:
        raise InputError(what, f"on_error is {policy.get('on_error')!r}", "use 'fail' or 'warn'")


def _test(rules: dict, res: dict) -> list[tuple[str, str]]:
    out = []
    if res["status"] == "failed":
        out.append((rules.get("on_fail", "fail"), res["message"]))
    minimum = rules.get("coverage_minimum")
    percent = (res.get("coverage") or {}).get("percent")
    if minimum is not None:
        if percent is None:
            out.append((rules.get("on_low_coverage", "fail"), f"coverage unknown (no coverage.xml), minimum is {minimum}%"))
        elif percent < float(minimum):
            out.append((rules.get("on_low_coverage", "fail"), f"line coverage {percent}% is below the minimum {minimum}%"))
    return out


def _sast(rules: dict, res: dict) -> list[tuple[str, str]]:
    out = []
    limits = rules.get("max_severity") or {}
    if isinstance(limits, str):
        limits = {"bandit": limits, "semgrep": limits}
    for scanner in sorted({f["tool"] for f in res.get("findings", [])} | set(limits)):
        limit = str(limits.get(scanner, limits.get("default", "MEDIUM"))).upper()
        over = [f for f in res.get("findings", []) if f["tool"] == scanner and severity_rank(f["severity"]) > severity_rank(limit)]
        if over:
            top = over[0]
            out.append((rules.get("on_fail", "fail"),
                        f"{scanner}: {len(over)} finding(s) above {limit}, e.g. {top['severity']} {top['rule']} at "
                        f"{top['file']}:{top['line']} ({top['message'][:120]})"))
    return out


def _secrets(rules: dict, res: dict) -> list[tuple[str, str]]:
    if res.get("new", 0) > int(rules.get("max_new", 0)):
        return [(rules.get("on_fail", "fail"), res["message"])]
    return []


def _audit(rules: dict, res: dict) -> list[tuple[str, str]]:
    if res["status"] == "not_checked":
        return [(rules.get("on_not_checked", "fail"), res["message"])]
    if len(res.get("findings", [])) > int(rules.get("max_vulnerabilities", 0)):
        return [(rules.get("on_fail", "fail"), res["message"] + ": " + "; ".join(f["message"] for f in res["findings"][:3]))]
    return []


def _image(rules: dict, res: dict) -> list[tuple[str, str]]:
    if res["status"] == "not_built":
        return [(rules.get("on_not_built", "fail"), res["message"])]
    if res["status"] == "failed":
        return [(rules.get("on_fail", "fail"), res["message"])]
    return []


def _simple(rules: dict, res: dict) -> list[tuple[str, str]]:
    return [(rules.get("on_fail", "fail"), res["message"])] if res["status"] == "failed" else []


CHECKS = {"test": _test, "sast": _sast, "secrets": _secrets, "audit": _audit, "sbom": _simple, "build": _simple,
          "image": _image}


def evaluate(policy: dict, results: dict[str, dict], requested: list[str] | tuple[str, ...] = STAGES) -> Verdict:
    """The gate's verdict for the stage ``results`` (stage -> StageResult) under ``policy``.

    A requested stage with no result counts as an error ("did not run"), so a stage that was
    skipped by accident can never pass silently.
    """
    reasons: list[Reason] = []
    stages: dict[str, str] = {}
    on_error = policy.get("on_error", "fail")
    for stage in STAGES:
        if stage not in requested:
            stages[stage] = "not_requested"
            continue
        rules = (policy.get("stages") or {}).get(stage) or {}
        res = results.get(stage)
        if res is None:
            found = [(on_error, "did not run (no result recorded)")]
        elif res.get("status") == "error":
            found = [(on_error, f"could not run: {res.get('message', '')}")]
        else:
            found = CHECKS[stage](rules, res)
        for level, message in found:
            reasons.append(Reason(stage, level, message))
        levels = {lvl for lvl, _ in found}
        stages[stage] = "fail" if "fail" in levels else "warn" if "warn" in levels else "pass"
    verdict = "fail" if "fail" in stages.values() else "warn" if "warn" in stages.values() else "pass"
    return Verdict(verdict, reasons, stages)
