"""The fast local drift pass gives the server-side dry-run's verdict, case by case, on a real API server.

Cases are ``testdata/drift/<case>-config.yaml`` / ``<case>-live.yaml`` pairs (format in that
folder's README.md). ``bench/bench_drift.py`` imports :func:`run_case` to count disagreements.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.gitops.client import Cluster
from include.gitops.diff import diff_resource
from include.gitops.types import SyncStatus

DRIFT = Path(__file__).parent / "testdata" / "drift"
CASES = sorted(p.name[: -len("-config.yaml")] for p in DRIFT.glob("*-config.yaml"))
CRD_GROUP = "drift.delivery.io"
PATCH_TYPES = {
    "strategic": "application/strategic-merge-patch+json",
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


@dataclass(frozen=True)
class Verdict:
    status: SyncStatus
    paths: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Verdict:
        status, *paths = text.split()
        return cls(SyncStatus(status), tuple(sorted(paths)))

    def __str__(self) -> str:
        return " ".join([self.status.value, *self.paths])


@dataclass(frozen=True)
class CaseResult:
    case: str
    expected: Verdict
    fast: Verdict
    server: Verdict


def _read(name: str, namespace: str) -> str:
    # a CRD's group is cluster-wide: each case's namespace in front keeps cases and runs apart
    return (DRIFT / name).read_text().replace(CRD_GROUP, f"{namespace}.{CRD_GROUP}")


def load_case(case: str, namespace: str) -> tuple[dict[str, Any], list[dict[str, Any]], Verdict]:
    """The config object and live steps of ``case``, placed in ``namespace``, and its expectation."""
    text = _read(f"{case}-config.yaml", namespace)
    first = text.splitlines()[0]
    assert first.startswith("# expect:"), f"{case}-config.yaml must start with '# expect: <verdict>'"
    config = yaml.safe_load(text)
    config["metadata"]["namespace"] = namespace
    steps = yaml.safe_load(_read(f"{case}-live.yaml", namespace))["steps"]
    for step in steps:
        if isinstance(step.get("apply"), str) and step["apply"] != "config":
            step["apply"] = yaml.safe_load(_read(f"{step['apply']}.yaml", namespace))
    return config, steps, Verdict.parse(first.split(":", 1)[1])


def set_up(cluster: Cluster, config: dict[str, Any], steps: list[dict[str, Any]], crds: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the live steps; returns the live object as a LIST would (with managedFields). CRDs
    applied on the way are appended to ``crds`` (the caller deletes them)."""
    for step in steps:
        if "apply" in step:
            obj = copy.deepcopy(config if step["apply"] == "config" else step["apply"])
            crd = obj["kind"] == "CustomResourceDefinition"
            if not crd:
                obj["metadata"]["namespace"] = config["metadata"]["namespace"]
            as_manager = Cluster(cluster.api_client, field_manager=step.get("manager", cluster.field_manager))
            as_manager.apply(obj, force=True)
            if crd:
                crds.append(obj)
                cluster.wait_established([obj["metadata"]["name"]])
        else:
            cluster.request("PATCH", cluster.object_path(config), query=[("fieldManager", step["manager"])],
                            body=step["patch"], content_type=PATCH_TYPES[step.get("type", "strategic")])
    live = cluster.get(config)
    assert live is not None
    return live


def verdicts(cluster: Cluster, config: dict[str, Any], live: dict[str, Any]) -> tuple[Verdict, Verdict]:
    """(fast, server): the local pass, and a dry-run apply with our manager compared in full."""
    fast = diff_resource(config, live)
    predicted = cluster.apply(config, force=True, dry_run=True)
    server = diff_resource(config, live, predicted=predicted)
    return (Verdict(fast.status, tuple(sorted(fast.paths))), Verdict(server.status, tuple(sorted(server.paths))))


def run_case(cluster: Cluster, case: str, namespace: str) -> CaseResult:
    config, steps, expected = load_case(case, namespace)
    crds: list[dict[str, Any]] = []
    try:
        live = set_up(cluster, config, steps, crds)
        fast, server = verdicts(cluster, config, live)
    finally:
        for crd in crds:
            cluster.delete(crd)
    return CaseResult(case, expected, fast, server)


@pytest.mark.k8s
@pytest.mark.parametrize("case", CASES)
def test_fast_verdict_is_the_dry_run_verdict(case: str, k8s_client, k8s_namespace: str) -> None:
    result = run_case(Cluster(k8s_client), case, k8s_namespace)
    assert result.fast == result.server, f"{case}: fast {result.fast}, dry-run {result.server}"
    assert result.server == result.expected, f"{case}: the server says {result.server}, the fixture {result.expected}"


def test_every_case_has_a_live_file_and_an_expectation() -> None:
    assert len(CASES) >= 15
    for case in CASES:
        _, steps, expected = load_case(case, "ns")
        assert steps and all(("apply" in s) != ("patch" in s) for s in steps), case
        assert all("manager" in s for s in steps if "patch" in s), f"{case}: a patch needs a manager"
        assert expected.status in (SyncStatus.SYNCED, SyncStatus.OUT_OF_SYNC)
