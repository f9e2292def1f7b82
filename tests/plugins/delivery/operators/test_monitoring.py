"""The drift monitor's adapters: nothing to check is a skip; a due retraining emits the typed event."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from delivery.operators import monitoring

DRIFT = {"batch_path": "/b.csv", "batch_sha256": "f" * 64, "drift_share": 0.75, "threshold_share": 0.5,
         "champion_version": "3", "dag_run_id": "manual__1", "drifted_features": ["mean_radius"],
         "report_html": "/r/drift.html", "retrain": True, "has_label": True}


def test_no_batch_anywhere_skips(tmp_path, monkeypatch):
    from airflow.sdk.exceptions import AirflowSkipException

    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    with pytest.raises(AirflowSkipException, match="extra.data_path"):
        monitoring.resolve_batch({"params": {"batch_path": None}, "triggering_asset_events": {}})


def test_request_retrain_emits_retrain_requested_or_skips():
    from airflow.sdk.exceptions import AirflowSkipException

    from delivery.assets import retrain_requested
    from include.common.events import RetrainRequested

    outlet = SimpleNamespace(extra=None)
    context = {"outlet_events": {retrain_requested: outlet}}
    extra = monitoring.request_retrain(DRIFT, context)
    assert outlet.extra == extra and RetrainRequested.from_extra(extra).data_path == "/b.csv"
    with pytest.raises(AirflowSkipException, match="No retraining needed"):
        monitoring.request_retrain({**DRIFT, "retrain": False}, context)
