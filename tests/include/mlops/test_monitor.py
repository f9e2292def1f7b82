"""The drift monitor's plain parts: params -> DriftConfig, and a drift result -> the retrain_requested event."""

from __future__ import annotations

from include.common.events import RetrainRequested
from include.mlops.drift import DriftConfig
from include.mlops.monitor import config_from_params, retrain_request

RESULT = {"batch_path": "/b.csv", "batch_sha256": "f" * 64, "drift_share": 0.75, "champion_version": "3",
          "dag_run_id": "manual__1", "drifted_features": ["mean_radius"], "report_html": "/r/drift.html",
          "retrain": True, "has_label": False}


def test_config_from_params_maps_same_names_and_the_distance_threshold():
    config = config_from_params({"numeric_method": "psi", "p_value": 0.01, "distance_threshold": 0.2, "model_name": "m"})
    assert config == DriftConfig(numeric_method="psi", p_value=0.01, wasserstein=0.2, jensenshannon=0.2)
    assert config_from_params({}) == DriftConfig()


def test_retrain_request_is_the_contract_and_names_data_only_for_labelled_batches():
    event = retrain_request(RESULT)
    assert RetrainRequested.from_extra(event.to_extra()) == event
    assert event.data_path == "" and event.drifted_features == ["mean_radius"]
    assert retrain_request({**RESULT, "has_label": True}).data_path == "/b.csv"
    assert retrain_request({**RESULT, "retrain": False}) is None
