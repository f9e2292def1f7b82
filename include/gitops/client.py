"""A small cluster client over a kubernetes ``ApiClient`` that the caller passes in.

It speaks plain REST through ``ApiClient.call_api`` (so authentication, TLS and proxies are
the kubernetes client's), and returns plain dicts. It knows the few verbs GitOps needs:
discovery, GET, LIST by kind and label, server-side apply (optionally as a dry-run) and
DELETE. Nothing is created at import; tests and operators pass their own ApiClient.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

from include.gitops.types import FIELD_MANAGER, ResourceKey, api_group


class ClusterError(RuntimeError):
    """An API request failed; ``status`` is the HTTP status, ``reason`` the API reason."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "", causes: list[dict] | None = None):
        super().__init__(message)
        self.status, self.reason, self.causes = status, reason, causes or []


class ApplyConflict(ClusterError):
    """Server-side apply refused because another field manager owns a field (HTTP 409)."""


class NotServed(ClusterError):
    """The API server's discovery has no such kind (status 404 without a request: ``get`` of it
    is None, like any 404). Not the server refusing an object: discovery may lag a new CRD."""


@dataclass(frozen=True)
class ResourceType:
    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def collection_path(self, namespace: str = "") -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


class Cluster:
    """GitOps' view of one cluster, built on a passed-in ``kubernetes.client.ApiClient``."""

    def __init__(self, api_client: Any, *, field_manager: str = FIELD_MANAGER, timeout: float = 60):
        self.api_client = api_client
        self.field_manager = field_manager
        self.timeout = timeout
        self._types: dict[tuple[str, str], ResourceType] | None = None
        self.requests = 0  # how many API calls were made (read by bench/bench_gitops.py)

    # --- raw REST -----------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        self.requests += 1
        try:
            resp = self.api_client.call_api(
                path,
                method,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=self.timeout,
            )
        except ApiException as exc:
            raise _error(method, path, exc) from None
        data = resp.data
        return json.loads(data) if data else {}

    # --- discovery ----------------------------------------------------------------------
    def resource_types(self, refresh: bool = False) -> dict[tuple[str, str], ResourceType]:
        """(apiVersion, kind) -> ResourceType for every kind the server serves (cached)."""
        if self._types is not None and not refresh:
            return self._types
        types: dict[tuple[str, str], ResourceType] = {}
        versions = ["v1"]
        for group in self.request("GET", "/apis").get("groups", []):
            versions += [v["groupVersion"] for v in group.get("versions", [])]
        for gv in versions:
            path = f"/api/{gv}" if gv == "v1" else f"/apis/{gv}"
            try:
                listing = self.request("GET", path)
            except ClusterError as exc:  # an unavailable aggregated API must not break discovery
                if exc.status in (404, 503):
                    continue
                raise
            for res in listing.get("resources", []):
                if "/" in res["name"]:
                    continue  # subresources (status, scale...)
                types[(gv, res["kind"])] = ResourceType(gv, res["kind"], res["name"], res["namespaced"])
        self._types = types
        return types

    def kinds(self, refresh: bool = False) -> dict[tuple[str, str], bool]:
        """(apiVersion, kind) -> namespaced, the shape :func:`include.gitops.validate.validate` takes."""
        return {k: t.namespaced for k, t in self.resource_types(refresh).items()}

    def resource_type(self, api_version: str, kind: str) -> ResourceType:
        key = (api_version, kind)
        if key not in self.resource_types():
            self.resource_types(refresh=True)
        if key not in self.resource_types():
            raise NotServed(f"the API server does not serve kind {kind!r} in apiVersion {api_version!r}", status=404,
                            reason="NotFound")
        return self.resource_types()[key]

    def type_for_key(self, key: ResourceKey) -> ResourceType:
        """The preferred served type for a key's group and kind."""
        candidates = [t for (gv, kind), t in self.resource_types().items() if kind == key.kind and api_group(gv) == key.group]
        if not candidates:
            self.resource_types(refresh=True)
            candidates = [t for (gv, kind), t in self.resource_types().items() if kind == key.kind and api_group(gv) == key.group]
        if not candidates:
            raise NotServed(f"the API server does not serve {key.display}", status=404, reason="NotFound")
        return candidates[0]

    def namespaces(self) -> set[str]:
        return {n["metadata"]["name"] for n in self.request("GET", "/api/v1/namespaces").get("items", [])}

    # --- read ---------------------------------------------------------------------------
    def object_path(self, obj_or_key: dict[str, Any] | ResourceKey) -> str:
        if isinstance(obj_or_key, ResourceKey):
            rtype, key = self.type_for_key(obj_or_key), obj_or_key
        else:
            rtype, key = self.resource_type(obj_or_key["apiVersion"], obj_or_key["kind"]), ResourceKey.of(obj_or_key)
        return f"{rtype.collection_path(key.namespace)}/{key.name}"

    def get(self, obj_or_key: dict[str, Any] | ResourceKey) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        try:
            return self.request("GET", self.object_path(obj_or_key))
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, *, label_selector: str = "", namespace: str = "") -> list[dict[str, Any]]:
        """Every object of one kind (all namespaces unless ``namespace``), paged by 500."""
        rtype = self.resource_type(api_version, kind)
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            query = [("limit", "500")]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            page = self.request("GET", rtype.collection_path(namespace), query=query)
            for item in page.get("items", []):
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    def live_for(self, desired: Iterable[dict[str, Any]], *, label_selector: str = "") -> dict[ResourceKey, dict[str, Any]]:
        """Live objects for ``desired``: one LIST per kind (not one GET per object).

        Kinds the server does not serve yet (a CRD in the same sync) simply have no live objects.
        """
        wanted: dict[tuple[str, str], set[ResourceKey]] = {}
        for obj in desired:
            wanted.setdefault((obj["apiVersion"], obj["kind"]), set()).add(ResourceKey.of(obj))
        live: dict[ResourceKey, dict[str, Any]] = {}
        for (api_version, kind), keys in wanted.items():
            if (api_version, kind) not in self.resource_types() and (api_version, kind) not in self.resource_types(refresh=True):
                continue
            namespaces = {k.namespace for k in keys}
            # one namespace: list only it; several: list the kind cluster-wide
            ns = next(iter(namespaces)) if len(namespaces) == 1 else ""
            for item in self.list(api_version, kind, label_selector=label_selector, namespace=ns):
                key = ResourceKey.of(item)
                if key in keys:
                    live[key] = item
        return live

    def owned(self, label_selector: str, kinds: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """Live objects of ``kinds`` that match ``label_selector`` (our ownership label)."""
        out: list[dict[str, Any]] = []
        for api_version, kind in kinds:
            if (api_version, kind) in self.resource_types():
                out.extend(self.list(api_version, kind, label_selector=label_selector))
        return out

    # --- write --------------------------------------------------------------------------
    def apply(self, obj: dict[str, Any], *, force: bool = False, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply ``obj`` with our field manager; returns the object the server stored
        (or, with ``dry_run``, would store). Raises ApplyConflict on a field ownership conflict."""
        query = [("fieldManager", self.field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        return self.request("PATCH", self.object_path(obj), query=query, body=obj, content_type="application/apply-patch+yaml")

    def delete(self, obj_or_key: dict[str, Any] | ResourceKey, *, dry_run: bool = False) -> bool:
        """Delete (background propagation). False when it was already gone (404 counts as done)."""
        query = [("propagationPolicy", "Background")]
        if dry_run:
            query.append(("dryRun", "All"))
        try:
            self.request("DELETE", self.object_path(obj_or_key), query=query)
            return True
        except ClusterError as exc:
            if exc.status == 404:
                return False
            raise

    def wait_established(self, crd_names: list[str], timeout: float = 30) -> None:
        """Wait until the named CRDs are Established, then refresh discovery."""
        deadline = time.monotonic() + timeout
        pending = set(crd_names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                crd = self.get(ResourceKey("apiextensions.k8s.io", "CustomResourceDefinition", "", name)) or {}
                conds = (crd.get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                    pending.discard(name)
            if pending:
                time.sleep(0.2)
        if pending:
            raise ClusterError(f"CRD(s) not established after {timeout:.0f}s: {', '.join(sorted(pending))}", status=504)
        self.resource_types(refresh=True)


def _error(method: str, path: str, exc: Any) -> ClusterError:
    status = int(getattr(exc, "status", 0) or 0)
    message, reason, causes = str(getattr(exc, "reason", "") or exc), "", []
    try:
        body = json.loads(exc.body or "{}")
        message = body.get("message") or message
        reason = body.get("reason") or ""
        causes = (body.get("details") or {}).get("causes") or []
    except (TypeError, ValueError):
        pass
    cls = ApplyConflict if status == 409 and method == "PATCH" else ClusterError
    if status in (401, 403):
        message = f"{message} (the credentials in the kubeconfig/connection are not allowed to {method} {path})"
    return cls(f"{method} {path}: HTTP {status} {reason}: {message}", status=status, reason=reason, causes=causes)
