"""OCI registry hook: where images are pushed, and what digest the registry holds for a tag."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook


class OciRegistryHook(BaseHook):
    """Talk to an OCI (Docker v2) registry over HTTP: reachability, manifest digests, tags.

    The URL comes from, in order: the ``url`` argument, the connection's host (``schema`` gives
    http/https, ``port`` the port; a full URL in ``host`` works too), then
    ``include.cicd.image.default_registry()``: ``$DELIVERY_REGISTRY_URL``, else
    ``http://127.0.0.1:5000`` (the local registry scripts/image/registry.sh starts).

    :param oci_registry_conn_id: connection id (default ``oci_registry_default``).
    :param url: registry base URL; wins over the connection.
    """

    conn_name_attr = "oci_registry_conn_id"
    default_conn_name = "oci_registry_default"
    conn_type = "oci_registry"
    hook_name = "OCI Registry"

    def __init__(self, oci_registry_conn_id: str = default_conn_name, url: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oci_registry_conn_id = oci_registry_conn_id
        self._url = url

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {"hidden_fields": ["extra", "login", "password"], "relabeling": {"schema": "Scheme (http/https)"},
                "placeholders": {"host": "127.0.0.1", "port": "5000", "schema": "http"}}

    @property
    def url(self) -> str:
        from include.cicd.image import default_registry

        if self._url:
            return self._url.rstrip("/")
        try:
            conn = self.get_connection(self.oci_registry_conn_id)
        except Exception:  # no such connection (AirflowNotFoundException) or no metadata DB: use the default
            conn = None
        if conn is not None and conn.host:
            host = conn.host
            if "://" in host:
                return host.rstrip("/")
            scheme = conn.schema or "http"
            return f"{scheme}://{host}{f':{conn.port}' if conn.port else ''}"
        return default_registry().rstrip("/")

    def manifest_digest(self, name: str, reference: str) -> str | None:
        """The registry's digest of ``name:reference`` (None when the tag does not exist)."""
        from include.cicd.image import manifest_digest

        return manifest_digest(self.url, name, reference)

    def list_tags(self, name: str) -> list[str]:
        from include.cicd.image import list_tags

        return list_tags(self.url, name)

    def test_connection(self) -> tuple[bool, str]:
        from include.cicd.image import registry_reachable

        return registry_reachable(self.url)
