"""The links' Airflow glue with a stand-in task instance: params and XComs in, skip / fail, reports,
and the typed Asset events (``ModelPromoted`` in, ``AppImage`` in, ``ManifestsChanged`` out)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from delivery.operators import handover, links
from include.common.git import seed_bare_repo
from include.common.paths import demo_inputs_dir
from include.common.reports import read_report

OVERLAY = "apps/shop/overlays/dev"
SHA = "b" * 40
DIGEST = "sha256:" + "c0" * 32


class TI:
    """Just enough of a task instance: XComs by (dag_id, run_id, task_id, key) and task states."""

    def __init__(self, xcoms=None, states=None, dag_id="gitops_image_update"):
        self.dag_id, self.xcoms, self.states, self.pulls = dag_id, xcoms or {}, states or {}, []

    def xcom_pull(self, task_ids=None, dag_id=None, key="return_value", run_id=None):
        self.pulls.append({"task_ids": task_ids, "dag_id": dag_id, "key": key, "run_id": run_id})
        if isinstance(task_ids, list):
            return [self.xcoms.get((dag_id, run_id, t, key)) for t in task_ids]
        return self.xcoms.get((dag_id, run_id, task_ids, key))

    def get_task_states(self, dag_id, run_ids):
        return {run_ids[0]: self.states.get(dag_id, {})}


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.fixture
def repo(tmp_path):
    bare = tmp_path / "manifests.git"
    seed_bare_repo(demo_inputs_dir() / "manifests", bare, "demo manifests")
    return f"file://{bare}"


def context(ti, **more):
    return {"ti": ti, "run_id": "manual__1", "params": {"healthy_states": ["Healthy"]}, **more}


def folder(ctx):
    from delivery.runs import report_folder

    return report_folder(ctx)


def test_write_once_returns_the_earlier_commit_and_skips_when_nothing_changed(state):
    from include.common.reports import write_report
    from include.links.writeback import NothingToDo

    ctx = context(TI())

    def nothing():
        raise NothingToDo("already serves v3")

    with pytest.raises(AirflowSkipException, match="already serves v3"):
        links._write_once(ctx, nothing)
    write_report(folder(ctx), "write_back.json", {"sha": SHA})
    assert links._write_once(ctx, lambda: pytest.fail("a retry must not push again")) == {"sha": SHA}


def test_rollback_without_a_commit_is_skipped(state):
    with pytest.raises(AirflowSkipException, match="nothing to roll back"):
        links.rollback_image(context(TI()))


def test_check_sync_demands_our_commit_healthy(state):
    wrote = {"app": "shop", "sha": SHA, "sync_run_id": "links__s"}
    ok = TI({(None, None, "write_back", "return_value"): wrote,
             ("gitops_manifest_sync", "links__s", "record", "return_value"): {"sha": SHA, "health": "Healthy"}})
    assert handover.check_sync(context(ok), "write_back", report="check_health.json")["sync_run_id"] == "links__s"
    bad = TI({(None, None, "rollback", "return_value"): {"sync": wrote},
              ("gitops_manifest_sync", "links__s", "record", "return_value"): {"sha": SHA, "health": "Degraded"}})
    ctx = context(bad)
    with pytest.raises(AirflowFailException, match="is Degraded"):
        handover.check_sync(ctx, "rollback", report="check_revert.json", key="sync")
    assert "Degraded" in read_report(folder(ctx), "check_revert.json")["error"]


def test_failure_reason_reads_the_sync_error_through_xcom(state):
    """Not the sync's files: the ``error`` XCom its failing step pushed (``delivery.failures.step``)."""
    wrote = {"sync_run_id": "links__s"}
    error = {"step": "health", "error": "app shop is Degraded", "type": "timeout"}
    ti = TI({("gitops_manifest_sync", "links__s", "wait_for_health", "error"): error},
            states={"gitops_image_update": {"sync": "failed"},
                    "gitops_manifest_sync": {"wait_for_health": "failed", "record": "failed"}})
    reason = handover.failure_reason(context(ti), wrote)
    assert reason == "gitops_manifest_sync run links__s failed in record, wait_for_health; health: app shop is Degraded"
    pull = next(p for p in ti.pulls if p["key"] == "error")
    assert pull["dag_id"] == "gitops_manifest_sync" and pull["run_id"] == "links__s"
    assert pull["task_ids"].index("wait_for_health") < pull["task_ids"].index("record"), "pipeline order"


def test_announce_emits_manifests_changed(state):
    from delivery.assets import manifests_changed
    from include.common.events import ManifestsChanged

    wrote = {"app": "shop", "repo_url": "file:///r.git", "path": OVERLAY, "sha": SHA, "trace": {"image": "x"}}
    events = defaultdict(SimpleNamespace)
    extra = handover.emit_manifests_changed(context(TI({(None, None, "write_back", "return_value"): wrote}),
                                                    outlet_events=events))
    assert events[manifests_changed].extra == extra
    assert ManifestsChanged.from_extra(extra).sha == SHA


def test_read_deployed_follows_the_model_promoted_event(state, repo):
    from delivery.assets import model_promoted
    from include.common.events import ModelPromoted

    event = SimpleNamespace(extra=ModelPromoted(model_name="other-model", version="4", alias="champion",
                                                dag_run_id="train1").to_extra())
    ctx = context(TI(dag_id="mlops_promote_to_gitops"), triggering_asset_events={model_promoted: [event]})
    params = {"model_name": "delivery-classifier", "alias": "champion", "repo_url": repo, "branch": "main",
              "path": OVERLAY, "app": "shop"}
    deployed = links.read_deployed_model(params, ctx)
    assert (deployed["model_name"], deployed["alias"], deployed["version"]) == ("other-model", "champion", None)
    assert deployed["repo_url"] == repo and len(deployed["manifests_sha"]) == 40


def test_plan_reads_app_image_events_and_skips_when_nothing_is_new(state, repo):
    from delivery.assets import app_image
    from include.common.events import AppImage

    built = datetime(2026, 11, 26, 10, tzinfo=timezone.utc)
    pushed = AppImage(repo_url="file:///app.git", sha="0a1b" * 10, image="127.0.0.1:5000/demo-app", tag="0a1b",
                      digest=DIGEST, report_dir="/reports/ci").to_extra()
    ctx = context(TI(), triggering_asset_events={app_image: [SimpleNamespace(extra=pushed, timestamp=built)]},
                  inlet_events={app_image: []})
    params = {"repo_url": repo, "branch": "main", "path": OVERLAY, "app": "shop", "image_policy": "newest",
              "semver_range": "*", "track_tag": None, "manifest_image": "nginx", "image": None, "tag": None,
              "digest": None}
    plan = links.plan_image(params, ctx)
    assert plan["chosen"] == {"image": "127.0.0.1:5000/demo-app", "tag": "0a1b", "digest": DIGEST,
                              "built_at": built.isoformat(), "commit": "0a1b" * 10, "source": "/reports/ci"}
    assert read_report(folder(ctx), "image_plan.json")["reason"] == plan["reason"]
    with pytest.raises(AirflowSkipException, match="no image update"):
        links.plan_image(params, context(TI(), inlet_events={app_image: []}))
