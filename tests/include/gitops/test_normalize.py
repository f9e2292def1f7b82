from __future__ import annotations

from include.gitops.normalize import SecretNormalizer, ServerFieldsNormalizer, normalize


def test_server_fields_are_dropped_and_input_is_untouched() -> None:
    live = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "generation": 2, "managedFields": [{}],
                     "creationTimestamp": "t", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "status": {"x": 1}, "data": {"k": "v"},
    }
    out = ServerFieldsNormalizer().normalize(live)
    assert out == {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    assert live["metadata"]["uid"] == "u" and "status" in live


def test_secret_string_data_becomes_base64_data() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "YQ=="}, "stringData": {"b": "b"}}
    assert SecretNormalizer().normalize(secret)["data"] == {"a": "YQ==", "b": "Yg=="}
    assert "stringData" in secret


class Upper:
    def normalize(self, obj):
        return {**obj, "data": {k: v.upper() for k, v in obj.get("data", {}).items()}}


def test_user_normalizers_run_after_builtins() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "uid": "u"}, "data": {"k": "v"}}
    out = normalize(obj, [Upper()])
    assert out["data"] == {"k": "V"} and "uid" not in out["metadata"]
