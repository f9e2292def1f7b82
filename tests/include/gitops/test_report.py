"""diff.json + summary.md of a diff (or of a plan, without a cluster), sync.json, the drift result."""

from __future__ import annotations

import json

from include.gitops.apply import ApplyFailed
from include.gitops.results import Action, ResourceResult
from include.gitops.diff import diff_app
from include.gitops.plan import build_plan
from include.gitops.report import diff_report, drift_result, sync_record, write_diff_report
from include.gitops.types import ResourceKey

STATE = {"app": "shop", "sha": "a" * 40, "revision": "main", "repo_url": "file:///m.git", "path": "apps/shop",
         "cluster_message": "local control plane", "cluster_mode": "configured", "self_heal": True, "report_dir": "/r"}
CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "demo"}, "data": {"color": "blue"}}


def test_plan_only_report_says_nothing_was_compared() -> None:
    report, text = diff_report(STATE, [CM], None)
    assert report["mode"] == "plan-only" and report["status"] == "Unknown" and report["sha"] == "a" * 40
    assert report["plan"]["steps"][0]["name"] == "wave 0"
    assert "PLAN-ONLY: nothing was compared" in text and "ConfigMap demo/settings" in text


def test_diff_report_shows_each_difference(tmp_path) -> None:
    live = {ResourceKey.of(CM): {**CM, "data": {"color": "red"}}}
    report, text = write_diff_report(tmp_path, STATE, [CM], diff_app("shop", [CM], live))
    assert report["status"] == "OutOfSync" and report["mode"] == "configured" and report["checked_at"]
    assert json.loads((tmp_path / "diff.json").read_text())["status"] == "OutOfSync"
    assert (tmp_path / "summary.md").read_text() == text
    assert text.startswith("# shop at aaaaaaaaaaaa (main)") and "## OutOfSync: ConfigMap demo/settings" in text


def test_drift_result_is_the_cluster_drift_event_plus_out_of_sync() -> None:
    from include.common.events import ClusterDrift

    live = {ResourceKey.of(CM): {**CM, "data": {"color": "red"}}}
    report, _ = diff_report(STATE, [CM], diff_app("shop", [CM], live))
    result = drift_result(STATE, report)
    assert result["out_of_sync"] == ["/ConfigMap/demo/settings"]
    event = ClusterDrift.from_extra({k: v for k, v in result.items() if k != "out_of_sync"})
    assert (event.status, event.sha, event.self_heal, event.revision) == ("OutOfSync", "a" * 40, True, "main")


def test_sync_record_keeps_the_error() -> None:
    plan = build_plan([CM])
    done = [ResourceResult(ResourceKey.of(CM), Action.FAILED, "HTTP 422", 422)]
    record = sync_record(plan, done, ApplyFailed("wave 0", done))
    assert record["applied"][0]["action"] == "failed" and "sync stopped in wave 0" in record["error"]
    assert "error" not in sync_record(plan, [])
