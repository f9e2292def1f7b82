"""Each stage on real tools: the clean demo app and one failing variant per gate stage.

The variants are real commits (include.cicd.demo.make_variant) checked out by the pipeline.
"""

from __future__ import annotations

import json

import pytest

from include.cicd import demo, pipeline
from include.cicd.policy import load_policy
from include.cicd.results import read_stages

pytestmark = pytest.mark.slow

SCAN = ["test", "sast", "secrets", "audit"]


def run_pipeline(revision: str, stages: list[str], run_id: str) -> tuple[pipeline.RunContext, dict]:
    seeded = demo.seed()
    ctx = pipeline.prepare("cicd_pipeline_test", run_id, {"repo_url": seeded["repo_url"], "revision": revision,
                                                          "stages": stages})
    for stage in ("checkout", "env", *stages):
        pipeline.run_stage(ctx, stage)
    return ctx, pipeline.do_gate(ctx)


@pytest.fixture(scope="module")
def clean_run():
    return run_pipeline("main", ["test", "sast", "secrets", "audit", "sbom", "build"], "clean")


def test_clean_app_passes_every_gate(clean_run):
    ctx, verdict = clean_run
    assert verdict["verdict"] in ("pass", "warn"), verdict["reasons"]
    assert verdict["failed_stages"] == []
    stages = read_stages(ctx.report)
    assert stages["test"]["counts"]["failures"] == 0 and stages["test"]["counts"]["tests"] >= 10
    assert stages["test"]["coverage"]["percent"] >= 80
    assert stages["sast"]["status"] == "ok" and stages["secrets"]["status"] == "ok"
    assert stages["audit"]["status"] in ("ok", "not_checked")
    for name in ("junit.xml", "coverage.xml", "bandit.sarif", "semgrep.sarif", "sbom.cdx.json", "gate.json",
                 "summary.md", "summary.html"):
        assert (ctx.report / name).is_file(), name
    sarif = json.loads((ctx.report / "semgrep.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    sbom = json.loads((ctx.report / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and {c["name"] for c in sbom["components"]} >= {"pytest", "coverage"}
    assert sorted(p.suffix for p in (ctx.report / "dist").iterdir()) == [".gz", ".whl"]


def test_env_is_reused_when_the_lock_is_unchanged(clean_run):
    ctx, _ = clean_run
    again = pipeline.prepare("cicd_pipeline_test", "clean-again", {"repo_url": ctx.params["repo_url"], "revision": "main",
                                                                  "stages": ["test"]})
    pipeline.run_stage(again, "checkout")
    second = pipeline.run_stage(again, "env")
    first = read_stages(ctx.report)["env"]
    assert second["reused"] is True and second["venv"] == first["venv"] and second["seconds"] < 1


@pytest.mark.parametrize("variant", list(demo.VARIANTS))
def test_variant_fails_at_its_stage(variant):
    made = demo.make_variant(variant)
    ctx, verdict = run_pipeline(made["revision"], SCAN, f"variant-{variant}")
    assert read_stages(ctx.report)["checkout"]["sha"] == made["sha"]
    assert verdict["verdict"] == "fail"
    assert verdict["failed_stages"] == [made["stage"]], verdict["reasons"]
    reason = " ".join(r["message"] for r in verdict["reasons"] if r["level"] == "fail")
    expected = {"failing-test": "1 of", "secret": "deploy/production.env", "vulnerable-dep": "urllib3==1.26.5",
                "bandit-high": "B602", "low-coverage": "below the minimum 80%"}[variant]
    assert expected in reason
    assert "FAIL" in (ctx.report / "summary.md").read_text()


def test_offline_audit_is_reported_not_passed(clean_run, tmp_path):
    from include.cicd.audit import run_audit
    from include.cicd.venv_cache import find_lock

    ctx, _ = clean_run
    res = run_audit(find_lock(ctx.checkout), tmp_path,
                    env_extra={"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"})
    assert res["status"] == "not_checked" and res["message"].startswith("not checked: offline")
    policy = load_policy(pipeline.validate_params({"repo_url": ctx.params["repo_url"]})["gate_policy"])
    assert policy["stages"]["audit"]["on_not_checked"] in ("fail", "warn")
