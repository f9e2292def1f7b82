"""The wave-by-wave apply with a health gate per wave (``sync.apply_waves``), over a fake cluster.

The live objects are fixture files (``testdata/job-<state>.yaml``): what the cluster returns
for a Job after it was applied. The same engine against a real API server is test_cluster_sync.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.gitops import sync
from include.gitops.apply import ApplyFailed
from include.gitops.client import ApplyConflict, ClusterError, NotServed
from include.gitops.plan import build_plan
from include.gitops.types import ANNOTATION_SYNC_WAVE, ResourceKey

TESTDATA = Path(__file__).parent / "testdata"


def job(wave: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "demo", "annotations": {ANNOTATION_SYNC_WAVE: wave}}}


def config(name: str, wave: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "demo", "annotations": {ANNOTATION_SYNC_WAVE: wave}}}


class FakeCluster:
    """Applies by remembering; a Job reads back as the fixture ``job-<job_state>.yaml``."""

    def __init__(self, job_state: str = "healthy", refuse: dict[str, ClusterError] | None = None):
        self.job_state, self.refuse = job_state, refuse or {}
        self.applied: list[str] = []
        self.gets = 0

    def apply(self, obj: dict, *, force: bool = False) -> dict:
        name = obj["metadata"]["name"]
        if name in self.refuse:
            raise self.refuse[name]
        self.applied.append(name)
        return obj

    def get(self, key: ResourceKey) -> dict | None:
        self.gets += 1
        if key.kind == "Job":
            return yaml.safe_load((TESTDATA / f"job-{self.job_state}.yaml").read_text())
        return {"apiVersion": "v1", "kind": key.kind, "metadata": {"name": key.name}}


PLAN = build_plan([job("0"), config("after", "1")])


def test_a_degraded_wave_stops_the_sync_before_the_next_wave() -> None:
    cluster, said = FakeCluster("degraded"), []
    with pytest.raises(sync.WaveDegraded, match="wave 0 is Degraded, later waves are not applied: Job.batch demo/migrate: "
                                                "Job has reached the specified backoff limit"):
        sync.apply_waves(cluster, PLAN, wave_timeout=5, say=said.append)
    assert cluster.applied == ["migrate"]
    assert said == ["wave 0: Job.batch demo/migrate configured"]


def test_a_healthy_wave_lets_the_next_one_go() -> None:
    cluster, said = FakeCluster("healthy"), []
    results = sync.apply_waves(cluster, PLAN, existing=set(), wave_timeout=5, say=said.append)
    assert [(r.key.name, r.action) for r in results] == [("migrate", "created"), ("after", "created")]
    assert said == ["wave 0: Job.batch demo/migrate created", "wave 0 is Healthy", "wave 1: ConfigMap demo/after created"]


def test_a_wave_still_progressing_at_the_timeout_is_said_and_the_next_wave_goes_on(monkeypatch) -> None:
    cluster, said = FakeCluster("progressing"), []
    sync.apply_waves(cluster, PLAN, wave_timeout=0.1, say=said.append)
    assert cluster.applied == ["migrate", "after"]
    assert said[1].startswith("wave 0 is still Progressing after 0s (Job.batch demo/migrate Progressing)")


def test_wave_timeout_zero_does_not_wait_and_the_last_wave_is_never_waited_for() -> None:
    cluster = FakeCluster("degraded")
    sync.apply_waves(cluster, PLAN, wave_timeout=0)
    assert cluster.gets == 0
    sync.apply_waves(cluster, build_plan([job("0")]), wave_timeout=5)
    assert cluster.gets == 0


def test_refused_by_the_api_server_is_final_on_the_status_not_the_text() -> None:
    forbidden = ClusterError("PATCH /api/v1/...: HTTP 403 Forbidden: no", status=403)
    conflict = ApplyConflict("PATCH ...: HTTP 409 Conflict: owned", status=409)
    for refusal in (forbidden, conflict):
        with pytest.raises(ApplyFailed) as info:
            sync.apply_waves(FakeCluster(refuse={"after": refusal}), PLAN)
        assert info.value.refused and [r.status for r in info.value.failed] == [refusal.status]
    for transient in (ClusterError("PATCH ...: HTTP 503 unavailable (HTTP 4xx in the text)", status=503),
                      NotServed("the API server does not serve kind 'Job'", status=404)):
        with pytest.raises(ApplyFailed) as info:
            sync.apply_waves(FakeCluster(refuse={"migrate": transient}), PLAN)
        assert not info.value.refused, transient  # a retry may help
