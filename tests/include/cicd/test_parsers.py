"""SARIF, JUnit and coverage parsing on real tool output (fixtures named for the case)."""

from pathlib import Path

from include.cicd.junit import parse_coverage, parse_junit
from include.cicd.sarif import parse_sarif

FIX = Path(__file__).parent / "fixtures"


def test_bandit_sarif_keeps_bandit_severity():
    findings = parse_sarif(FIX / "bandit-shell-true.sarif")
    by_rule = {f["rule"]: f for f in findings}
    assert by_rule["B602"]["severity"] == "HIGH"
    assert by_rule["B602"]["file"] == "src/demo_app/routes.py" and by_rule["B602"]["line"] > 0
    assert by_rule["B404"]["severity"] == "LOW"
    assert {f["tool"] for f in findings} == {"bandit"}


def test_semgrep_sarif_maps_level_and_short_rule_id():
    findings = parse_sarif(FIX / "semgrep-shell-true.sarif")
    assert [(f["tool"], f["rule"], f["severity"]) for f in findings] == [("semgrep", "subprocess-shell-true", "HIGH")]


def test_sarif_paths_are_made_relative_to_the_checkout():
    doc = {"runs": [{"tool": {"driver": {"name": "x", "rules": [{"id": "R1", "properties": {"security-severity": "9.1"}}]}},
                     "results": [{"ruleId": "R1", "level": "note", "message": {"text": "m"},
                                  "locations": [{"physicalLocation": {"artifactLocation": {"uri": "file:///w/src/a.py"},
                                                                      "region": {"startLine": 3}}}]}]}]}
    [f] = parse_sarif(doc, root="/w")
    assert (f["file"], f["line"], f["severity"]) == ("src/a.py", 3, "CRITICAL")


def test_junit_counts_and_failed_case():
    out = parse_junit(FIX / "junit-one-failure.xml")
    assert (out["tests"], out["failures"], out["errors"], out["skipped"], out["passed"]) == (4, 1, 0, 1, 2)
    [case] = out["failed_cases"]
    assert case["test"].endswith("test_greeting_is_formal") and "Good day" in case["message"]


def test_junit_all_passed():
    out = parse_junit(FIX / "junit-all-passed.xml")
    assert out["tests"] > 0 and out["failures"] == out["errors"] == 0 and out["failed_cases"] == []


def test_coverage_percent_and_least_covered_file():
    cov = parse_coverage(FIX / "coverage-low.xml")
    assert cov["percent"] == 45.0
    assert cov["least_covered"][0] == {"file": "src/demo_app/reports.py", "percent": 0.0}
