"""The CI/CD task functions: bad params fail without retry; stage results reach the report folder."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException

from delivery.operators import cicd
from include.cicd import demo
from include.common.paths import report_dir


def ctx(run_id):
    return {"ti": SimpleNamespace(dag_id="cicd_operator_test"), "run_id": run_id}


def prepare(run_id, **params):
    base = {"repo_url": "", "revision": "main", "image": "demo-app", "gate_policy": "default", "stages": ["test"]}
    return cicd.prepare(base | params, ctx(run_id))


@pytest.mark.parametrize(("field", "value", "match"), [
    ("revision", "main;reboot", "revision: 'main;reboot' contains shell metacharacters"),
    ("revision", "..", "revision: '..' is not a valid Git"),
    ("repo_url", "file:///does/not/exist.git", "repo_url: file:///does/not/exist.git does not exist"),
    ("stages", ["lint"], "stages: unknown stage"),
    ("gate_policy", "lax", "gate_policy: there is no policy named 'lax'"),
])
def test_bad_params_fail_without_retry(field, value, match):
    demo.seed()
    with pytest.raises(AirflowFailException, match=f"^prepare: {match}"):
        prepare(f"bad-{field}", **{field: value})


def test_stage_and_gate_tasks_write_the_report():
    demo.seed()
    params = prepare("ok", stages=["test"])
    assert params["stages"] == ["test"] and params["registry"].startswith("http")
    for stage in ("checkout", "env", "test", "sast"):
        out = cicd.stage(stage, ctx("ok"))
        assert out["stage"] == stage
    assert out["status"] == "not_requested"
    verdict = cicd.gate(ctx("ok"))
    assert verdict["stages"]["test"] == "pass" and verdict["stages"]["sast"] == "not_requested"
    report = report_dir("cicd_operator_test", "ok")
    assert (report / "junit.xml").exists() and (report / "summary.md").exists()


def test_a_stage_that_cannot_read_the_repo_names_the_param():
    demo.seed()
    prepare("no-revision", revision="no-such-branch")
    with pytest.raises(AirflowFailException, match="^checkout: revision: 'no-such-branch' does not exist"):
        cicd.stage("checkout", ctx("no-revision"))
