from include.links import trace
from trailers import parse_trailers


def test_commit_message_carries_trace_ids_as_trailers_and_parses_back():
    msg = trace.commit_message(
        "deploy model delivery-classifier v3 to apps/shop/overlays/dev",
        "champion moved from v2 to v3",
        {"model_version": 3, "mlflow_run_id": "abc123", "dag_run_id": "manual__2026-11-26T10:00:00+00:00",
         "image_digest": None, "data_hash": "sha256:ff"},
    )
    lines = msg.splitlines()
    assert lines[0].startswith("deploy model")
    assert lines[1] == ""
    assert "Delivery-Model-Version: 3" in lines
    assert "Delivery-Mlflow-Run-Id: abc123" in lines
    assert not any("Image-Digest" in line for line in lines), "empty ids are left out"
    parsed = parse_trailers(msg)
    assert parsed == {"dag_run_id": "manual__2026-11-26T10:00:00+00:00", "model_version": "3",
                      "mlflow_run_id": "abc123", "data_hash": "sha256:ff"}


def test_multiline_values_cannot_break_the_trailer_block():
    msg = trace.commit_message("s", "", {"reason": "sync failed\nDelivery-Model-Version: 99"})
    assert parse_trailers(msg) == {"reason": "sync failed Delivery-Model-Version: 99"}


def test_model_version_tags_use_the_same_keys():
    assert trace.model_version_tags({"manifests_commit": "abc", "reason": ""}) == {"delivery.manifests_commit": "abc"}
