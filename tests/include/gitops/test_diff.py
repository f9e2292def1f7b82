"""Diff cases driven by ``testdata/diff/<case>-config.yaml`` / ``<case>-live.yaml`` pairs.

The config file's first line says what to expect: ``# expect: <Status> [json pointers...]``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from include.gitops.diff import compare, diff_app, diff_resource
from include.gitops.types import LABEL_APP, ResourceKey, SyncStatus

TESTDATA = Path(__file__).parent / "testdata"


def expectation(path: Path) -> str:
    """The text after ``# expect:`` in a fixture file."""
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path.name} has no '# expect:' line")


CASES = sorted(p.name[: -len("-config.yaml")] for p in (TESTDATA / "diff").glob("*-config.yaml"))


def load(name: str) -> dict:
    return yaml.safe_load((TESTDATA / "diff" / name).read_text())


@pytest.mark.parametrize("case", CASES)
def test_diff_case(case: str) -> None:
    config_path = TESTDATA / "diff" / f"{case}-config.yaml"
    status, *paths = expectation(config_path).split()
    result = diff_resource(load(f"{case}-config.yaml"), load(f"{case}-live.yaml"))
    assert result.status == SyncStatus(status), f"{case}: {result.status} {result.paths}\n{result.diff}"
    assert sorted(result.paths) == sorted(paths)
    if result.status == SyncStatus.OUT_OF_SYNC:
        assert result.diff.startswith("--- live/")
        assert all(p in result.message for p in paths[:5])


def test_secret_values_never_reach_the_diff_text() -> None:
    result = diff_resource(load("secret-changed-config.yaml"), load("secret-changed-live.yaml"))
    assert "s3cret" not in result.diff and "czNjcmV0" not in result.diff and "aHVudGVyMg" not in result.diff
    assert "++++++++" in result.diff


def test_missing_when_not_live() -> None:
    result = diff_resource(load("configmap-synced-config.yaml"), None)
    assert result.status == SyncStatus.MISSING
    assert "+data:" in result.diff


def test_server_side_mode_compares_in_full() -> None:
    desired = load("configmap-synced-config.yaml")
    live = {**load("configmap-synced-live.yaml"), "data": {"color": "blue", "extra": "x"}}
    # local (subset) mode: a field only the cluster has is not ours
    assert diff_resource(desired, live).status == SyncStatus.SYNCED
    # server-side mode: the dry-run result lacks it, so a sync would remove it: drift
    predicted = {**desired, "data": {"color": "blue"}}
    result = diff_resource(desired, live, predicted=predicted)
    assert result.status == SyncStatus.OUT_OF_SYNC and result.paths == ["/data/extra"]


def test_compare_null_in_git_equals_absent() -> None:
    assert compare({"a": None, "b": {}}, {}, subset=True) == []
    assert compare({"a": 1}, {"a": 1, "b": 2}, subset=False) == ["/b"]


def test_app_diff_extraneous_only_with_our_label() -> None:
    desired = [load("configmap-synced-config.yaml")]
    live = {ResourceKey.of(desired[0]): load("configmap-synced-live.yaml")}
    ours = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "demo", "labels": {LABEL_APP: "shop"}}}
    other_app = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": "demo", "labels": {LABEL_APP: "other"}}}
    result = diff_app("shop", desired, live, owned=[ours, other_app])
    assert result.status == SyncStatus.OUT_OF_SYNC
    assert [r.key.name for r in result.by_status(SyncStatus.EXTRANEOUS)] == ["old"]
    assert result.counts() == {"Synced": 1, "OutOfSync": 0, "Missing": 0, "Extraneous": 1}
    assert "Extraneous ConfigMap demo/old" in result.summary()
    assert result.resources[0].status == SyncStatus.EXTRANEOUS  # problems first
    assert diff_app("shop", desired, live).status == SyncStatus.SYNCED
