"""LIST and WATCH of one kind over the blocking ``kubernetes`` client, without blocking the loop.

``kubernetes_asyncio`` is not installed, so a watch is one long ``call_api(...,
_preload_content=False)`` read line by line in a thread of its own. Not ``asyncio.to_thread``:
that pool is small (cores + 4) and shared with every other trigger in the triggerer, and a
dozen watches held for minutes would starve it. Short calls (LIST, GET) do use ``to_thread``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, AsyncIterator

from include.gitops.client import Cluster, ClusterError, ResourceType


class Gone(Exception):
    """HTTP 410: the resourceVersion to resume from is older than the server still keeps."""


def widen_pool(api_client: Any, size: int) -> None:
    """Let the client keep ``size`` connections per host: one per held watch, plus the short
    calls. The default (5 per core) is below a dozen watches, and urllib3 then warns and drops
    a connection at every resume."""
    pool = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
    if pool is None or pool.connection_pool_kw.get("maxsize", 0) >= size:
        return
    pool.connection_pool_kw["maxsize"] = size
    pool.clear()  # pools are made per host on first use; the next one gets the new size


def list_kind(cluster: Cluster, rtype: ResourceType, label_selector: str) -> tuple[list[dict[str, Any]], str]:
    """Every object of ``rtype`` matching the selector, and the list's resourceVersion (the
    point a watch resumes from; pages after the first are served at that same version)."""
    items: list[dict[str, Any]] = []
    token, version = "", ""
    while True:
        query = [("limit", "500"), ("labelSelector", label_selector)] + ([("continue", token)] if token else [])
        page = cluster.request("GET", rtype.collection_path(), query=query)
        meta = page.get("metadata") or {}
        version = version or str(meta.get("resourceVersion") or "")
        for item in page.get("items", []):
            item.setdefault("apiVersion", rtype.api_version)
            item.setdefault("kind", rtype.kind)
            items.append(item)
        token = meta.get("continue") or ""
        if not token:
            return items, version


async def watch_kind(cluster: Cluster, rtype: ResourceType, *, label_selector: str, resource_version: str,
                     timeout: int) -> AsyncIterator[dict[str, Any]]:
    """Yield ``{"type": "opened"}`` once the server accepted the watch, then its events
    (ADDED, MODIFIED, DELETED, BOOKMARK) until the server ends it after ``timeout`` seconds.

    :raises Gone: the server answered 410 (as an HTTP status or as an ERROR event).
    :raises ClusterError: any other error.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    responses: list[Any] = []
    query = [("watch", "true"), ("allowWatchBookmarks", "true"), ("labelSelector", label_selector),
             ("resourceVersion", resource_version), ("timeoutSeconds", str(timeout))]
    path = rtype.collection_path()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:
            pass  # the loop closed: nobody is listening any more

    def pump() -> None:
        from kubernetes.client.exceptions import ApiException
        from kubernetes.watch.watch import iter_resp_lines

        resp = None
        try:
            resp = cluster.api_client.call_api(
                path, "GET", query_params=query, header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True,
                _request_timeout=(10, timeout + 30))
            responses.append(resp)
            put(("opened", None))
            for line in iter_resp_lines(resp):
                if line:
                    put(("line", line))
            put(("end", None))
        except ApiException as exc:
            put(("error", Gone(str(exc)) if exc.status == 410 else ClusterError(
                f"WATCH {path}: HTTP {exc.status} {exc.reason}", status=int(exc.status or 0))))
        except BaseException as exc:  # noqa: BLE001 - handed to the loop, which decides
            put(("error", exc))
        finally:
            if resp is not None:
                resp.release_conn()

    threading.Thread(target=pump, name=f"watch {rtype.kind}", daemon=True).start()
    try:
        while True:
            what, value = await queue.get()
            if what == "opened":
                yield {"type": "opened"}
            elif what == "end":
                return
            elif what == "error":
                raise value
            else:
                event = json.loads(value)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        raise Gone(status.get("message") or "410 Gone")
                    raise ClusterError(f"WATCH {path}: {status.get('message')}", status=int(status.get("code") or 0))
                yield event
    finally:
        for resp in responses:  # unblock the thread's read so it ends with us
            try:
                (getattr(resp, "shutdown", None) or resp.close)()
            except Exception:  # noqa: BLE001 - best effort on a connection we abandon
                pass
