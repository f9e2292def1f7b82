"""OciRegistryHook against the real local registry: URL resolution, digests, tags, reachability."""

from __future__ import annotations

import hashlib
import json
import urllib.request
import uuid

import pytest

from delivery.hooks.registry import OciRegistryHook


def test_url_defaults_and_overrides(monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_OCI_REGISTRY_DEFAULT", raising=False)
    monkeypatch.delenv("DELIVERY_REGISTRY_URL", raising=False)
    assert OciRegistryHook().url == "http://127.0.0.1:5000"
    assert OciRegistryHook(url="https://reg.example:443/").url == "https://reg.example:443"
    monkeypatch.setenv("AIRFLOW_CONN_OCI_REGISTRY_DEFAULT", json.dumps({"conn_type": "oci_registry", "host": "10.0.0.7",
                                                                         "port": 5001, "schema": "https"}))
    assert OciRegistryHook().url == "https://10.0.0.7:5001"
    assert OciRegistryHook.default_conn_name == "oci_registry_default"


def _put_tiny_image(base: str, name: str, tag: str) -> str:
    """Upload a config blob and a layer-less OCI manifest; return the manifest's sha256 digest."""
    config = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    cdigest = "sha256:" + hashlib.sha256(config).hexdigest()
    req = urllib.request.Request(f"{base}/v2/{name}/blobs/uploads/", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as resp:
        location = resp.headers["Location"]
    if location.startswith("/"):
        location = base + location
    sep = "&" if "?" in location else "?"
    req = urllib.request.Request(f"{location}{sep}digest={cdigest}", method="PUT", data=config,
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req, timeout=10).close()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest,
                                      "size": len(config)}, "layers": []}).encode()
    req = urllib.request.Request(f"{base}/v2/{name}/manifests/{tag}", method="PUT", data=manifest,
                                 headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    urllib.request.urlopen(req, timeout=10).close()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_manifest_digest_and_tags_from_the_real_registry(oci_registry):
    hook = OciRegistryHook(url=oci_registry)
    ok, message = hook.test_connection()
    assert ok, message
    name = f"hook-test/{uuid.uuid4().hex[:8]}"
    assert hook.list_tags(name) == []
    assert hook.manifest_digest(name, "v1") is None
    digest = _put_tiny_image(oci_registry, name, "v1")
    assert hook.manifest_digest(name, "v1") == digest
    assert hook.list_tags(name) == ["v1"]


def test_unreachable_registry_is_reported():
    ok, message = OciRegistryHook(url="http://127.0.0.1:9").test_connection()
    assert not ok and "no registry answers" in message
