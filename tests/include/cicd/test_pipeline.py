"""The pipeline's hand-offs without tools: the app_image event, the push guard, the clean-up of a pod build."""

from __future__ import annotations

import pytest

from include.cicd.pipeline import RunContext, cleanup, do_push, publish_extra
from include.cicd.results import write_stage
from include.common.events import AppImage
from include.common.reports import read_report

SHA = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "ab" * 32


def _ctx(run_id: str, **params) -> RunContext:
    ctx = RunContext("cicd_pipeline_unit", run_id, {"repo_url": "file:///r.git", "image": "team/app",
                                                    "registry": "http://127.0.0.1:5000", **params})
    write_stage(ctx.report, {"stage": "checkout", "status": "ok", "message": f"main -> {SHA}", "sha": SHA})
    return ctx


def test_publish_emits_the_app_image_contract_and_writes_it():
    ctx = _ctx("publish")
    pushed = {"pushed": True, "tag": SHA[:12], "digest": DIGEST, "registry": "http://127.0.0.1:5000",
              "reference": f"127.0.0.1:5000/team/app:{SHA[:12]}@{DIGEST}"}
    extra = publish_extra(ctx, pushed)
    event = AppImage.from_extra(extra)
    assert event == AppImage(repo_url="file:///r.git", sha=SHA, image="127.0.0.1:5000/team/app", tag=SHA[:12],
                             digest=DIGEST, reference=pushed["reference"], report_dir=str(ctx.report))
    assert "pushed" not in extra and extra["schema"] == AppImage.schema
    assert read_report(ctx.report, "published.json") == extra


def test_push_refuses_without_a_gate_verdict():
    with pytest.raises(RuntimeError, match="the gate did not run, nothing is pushed"):
        do_push(_ctx("no-gate"))


def test_cleanup_of_a_pod_build_runs_the_clean_pod_after_removing_the_checkout():
    ctx = _ctx("pod-clean", builder="kubernetes")
    write_stage(ctx.report, {"stage": "image", "status": "ok", "message": "built", "builder": "kubernetes",
                             "tag": SHA[:12], "local_ref": f"localhost/team/app:{SHA[:12]}"})
    (ctx.checkout / "app.py").parent.mkdir(parents=True)
    (ctx.checkout / "app.py").write_text("print('hi')\n")
    seen = []
    cleanup(ctx, pod_clean=lambda: seen.append(ctx.checkout.exists()))
    assert seen == [False]  # the pod ran once, after the local checkout was gone


def test_cleanup_without_an_image_stage_only_removes_the_checkout():
    ctx = _ctx("no-image")
    ctx.checkout.mkdir(parents=True)
    cleanup(ctx, pod_clean=lambda: pytest.fail("no pod built anything"))
    assert not ctx.checkout.exists()
