"""The gate policy is a pure function: stage results in, verdict + reasons out."""

import pytest

from include.cicd.params import POLICY_DIR
from include.cicd.policy import evaluate, load_policy
from include.common.errors import InputError

ALL = ("test", "sast", "secrets", "audit", "sbom", "build", "image")


@pytest.fixture()
def policy():
    return load_policy(POLICY_DIR / "default.yaml")


def clean():
    return {
        "test": {"stage": "test", "status": "ok", "message": "15 passed", "coverage": {"percent": 95.0}, "findings": []},
        "sast": {"stage": "sast", "status": "ok", "message": "", "findings": []},
        "secrets": {"stage": "secrets", "status": "ok", "message": "", "new": 0, "findings": []},
        "audit": {"stage": "audit", "status": "ok", "message": "", "findings": []},
        "sbom": {"stage": "sbom", "status": "ok", "message": ""},
        "build": {"stage": "build", "status": "ok", "message": ""},
        "image": {"stage": "image", "status": "ok", "message": ""},
    }


def test_clean_results_pass(policy):
    v = evaluate(policy, clean(), ALL)
    assert v.verdict == "pass" and v.reasons == [] and set(v.stages.values()) == {"pass"}


def test_failed_tests_fail_the_test_stage(policy):
    r = clean()
    r["test"] |= {"status": "failed", "message": "1 of 16 tests failed"}
    v = evaluate(policy, r, ALL)
    assert v.verdict == "fail" and v.failed_stages() == ["test"]
    assert "1 of 16 tests failed" in v.reasons[0].message


def test_coverage_below_minimum(policy):
    r = clean()
    r["test"]["coverage"] = {"percent": 61.5}
    v = evaluate(policy, r, ALL)
    assert v.failed_stages() == ["test"] and "61.5% is below the minimum 80%" in v.reasons[0].message


def test_sast_fails_only_above_the_scanner_max_severity(policy):
    r = clean()
    r["sast"]["findings"] = [{"tool": "bandit", "rule": "B404", "severity": "LOW", "file": "a.py", "line": 1, "message": "m"},
                             {"tool": "semgrep", "rule": "weak-hash", "severity": "MEDIUM", "file": "a.py", "line": 2, "message": "m"}]
    assert evaluate(policy, r, ALL).verdict == "pass"
    r["sast"]["findings"].append({"tool": "bandit", "rule": "B602", "severity": "HIGH", "file": "a.py", "line": 9, "message": "shell"})
    v = evaluate(policy, r, ALL)
    assert v.failed_stages() == ["sast"] and "B602 at a.py:9" in v.reasons[0].message


def test_new_secret_fails(policy):
    r = clean()
    r["secrets"] |= {"status": "findings", "new": 1, "message": "1 new secret(s) not in the baseline: deploy/prod.env:3"}
    v = evaluate(policy, r, ALL)
    assert v.failed_stages() == ["secrets"] and "deploy/prod.env:3" in v.reasons[0].message


@pytest.mark.parametrize(("name", "verdict"), [("default", "warn"), ("strict", "fail")])
def test_offline_audit_is_never_a_silent_pass(name, verdict):
    r = clean()
    r["audit"] = {"stage": "audit", "status": "not_checked", "message": "not checked: offline (ConnectionError)", "findings": []}
    v = evaluate(load_policy(POLICY_DIR / f"{name}.yaml"), r, ALL)
    assert v.verdict == verdict and v.stages["audit"] == verdict
    assert v.reasons[0].message.startswith("not checked: offline")


def test_vulnerability_fails(policy):
    r = clean()
    r["audit"] |= {"status": "findings", "message": "1 known vulnerability",
                   "findings": [{"message": "urllib3==1.26.5: GHSA-x (fixed in 1.26.17)"}]}
    v = evaluate(policy, r, ALL)
    assert v.failed_stages() == ["audit"] and "urllib3==1.26.5" in v.reasons[0].message


def test_image_not_built_follows_the_policy(policy):
    r = clean()
    r["image"] = {"stage": "image", "status": "not_built", "message": "image: not built (no image builder: buildah is not installed)"}
    assert evaluate(policy, r, ALL).stages["image"] == "warn"
    assert evaluate(load_policy(POLICY_DIR / "strict.yaml"), r, ALL).stages["image"] == "fail"


def test_a_requested_stage_without_result_fails(policy):
    r = clean()
    del r["sbom"]
    v = evaluate(policy, r, ALL)
    assert v.stages["sbom"] == "fail" and "did not run" in v.reasons[0].message


def test_tool_error_counts_as_on_error(policy):
    r = clean()
    r["sast"] = {"stage": "sast", "status": "error", "message": "semgrep is not installed"}
    v = evaluate(policy, r, ALL)
    assert v.failed_stages() == ["sast"] and "could not run" in v.reasons[0].message


def test_unrequested_stages_are_ignored(policy):
    v = evaluate(policy, {"test": clean()["test"]}, ["test"])
    assert v.verdict == "pass" and v.stages["sast"] == "not_requested"


def test_bad_policy_file_is_an_input_error(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("stages:\n  sast: {on_fail: maybe}\n")
    with pytest.raises(InputError, match="on_fail"):
        load_policy(bad)
    bad.write_text("stages:\n  lint: {}\n")
    with pytest.raises(InputError, match="unknown stage"):
        load_policy(bad)
