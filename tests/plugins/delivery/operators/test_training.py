"""The train/register tasks' adapters: the branch after the gate, and bad input failing without retries."""

from __future__ import annotations

import pytest

from delivery.operators import training


@pytest.mark.parametrize("blessed, require_approval, expected", [
    (True, False, ["promote"]), (True, True, ["approve"]), (False, True, []), (False, False, []),
])
def test_route(blessed, require_approval, expected):
    assert training.route({"blessed": blessed, "reasons": ["r"]}, require_approval) == expected


def test_a_missing_batch_fails_the_snapshot_without_retries(tmp_path):
    from airflow.sdk.exceptions import AirflowFailException

    context = {"params": {"data_path": str(tmp_path / "missing.csv")}, "triggering_asset_events": {}}
    with pytest.raises(AirflowFailException, match="snapshot: .*missing.csv: the batch file does not exist"):
        training.snapshot(context)
