"""Live -> drift in seconds: watch the objects our apps own and report hand edits as they happen.

One LIST then one WATCH per kind (``PRUNE_KINDS`` plus any given), filtered by our ownership
label (any app, or one). Each change is judged by field ownership
(:func:`include.gitops.ownership.judge`): a field our manager owned that another manager took
or removed, or an owned object deleted, is drift; status, defaults and fields we never set are
not. Changes within ``debounce`` seconds of the first are coalesced into one :class:`Drift` per
app, naming each resource, its change and its fields.

The watch resumes from the last resourceVersion. When the server no longer has it (410 Gone,
the history was compacted) the kind is listed again and every object compared with what we
last knew, so edits made in the gap (or while the triggerer was down) are still reported.
:mod:`include.gitops.watch_state` keeps that knowledge in a file; it is written only when every
drift seen so far has been handed out, so a crash repeats a report rather than losing one.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, AsyncIterator, Iterable

from include.gitops.client import Cluster, NotServed, ResourceType
from include.gitops.ownership import Ownership, judge
from include.gitops.types import LABEL_APP, ResourceKey, api_group
from include.gitops.watch_drift import Drift, ResourceDrift
from include.gitops.watch_state import WatchState
from include.gitops.watch_stream import Gone, list_kind, watch_kind, widen_pool

log = logging.getLogger(__name__)


def selector(app: str | None) -> str:
    """Our label, for one app or (None) any app."""
    return f"{LABEL_APP}={app}" if app else LABEL_APP


def _newer(version: str, than: str) -> bool:
    # resourceVersions are opaque, but etcd's are integers; compare only those, to skip a replay
    return not (version.isdigit() and than.isdigit()) or int(version) > int(than)


class ClusterWatch:
    """Watch ``kinds`` on ``cluster`` and yield :class:`Drift` from :meth:`drifts`.

    :param cluster: the cluster (its ``field_manager`` is the one whose fields count).
    :param kinds: (apiVersion, kind) pairs to watch; kinds the server does not serve are retried.
    :param state_path: the state file (see :mod:`include.gitops.watch_state`).
    :param app: watch one app only; None: every object with our label.
    :param debounce: seconds from a burst's first change to its report.
    :param watch_timeout: seconds a single WATCH request lasts before it is resumed.
    """

    def __init__(self, cluster: Cluster, kinds: Iterable[tuple[str, str]], *, state_path: Path, app: str | None = None,
                 debounce: float = 1.0, watch_timeout: int = 290) -> None:
        self.cluster, self.kinds, self.state_path = cluster, sorted(set(kinds)), state_path
        self.app, self.debounce, self.watch_timeout = app, debounce, watch_timeout
        self.manager, self.selector = cluster.field_manager, selector(app)
        self.state = WatchState()
        self.relists = 0  # lists after a 410 Gone (logged; tests read it)
        self._pending: dict[str, dict[str, tuple[ResourceDrift, Ownership | None]]] = {}
        self._first_pending = 0.0
        self._dirty = False
        self._opened: set[str] = set()
        self.ready: asyncio.Event | None = None
        self._wake: asyncio.Event | None = None

    # --- judging ------------------------------------------------------------------------
    def _observe(self, key: ResourceKey, obj: dict[str, Any] | None, *, report: bool) -> None:
        """Fold one object's new state (None: gone) into the baseline or into a pending drift."""
        name = str(key)
        before, latest = self.state.objects.get(name), self._latest(name)
        if obj is not None and latest is not None and not _newer(str(obj["metadata"].get("resourceVersion") or ""),
                                                                 latest.resource_version):
            return  # a replayed event we have already judged
        labelled = obj is not None and (obj["metadata"].get("labels") or {}).get(LABEL_APP)
        after = Ownership.of(obj, self.manager, LABEL_APP) if labelled and (not self.app or labelled == self.app) else None
        change = judge(before, obj, self.manager) if report else None
        app = before.app if before else (after.app if after else "")
        bursting = any(self._pending.values())
        for p in self._pending.values():
            p.pop(name, None)
        if change is not None and app:
            if not bursting:
                self._first_pending = asyncio.get_running_loop().time()
            self._pending.setdefault(app, {})[name] = (ResourceDrift(key, change), after)
            self._wake.set()
            return
        if after is not None and after.owned:
            self.state.objects[name] = after
        else:
            self.state.objects.pop(name, None)
        self._dirty = True

    def _latest(self, name: str) -> Ownership | None:
        """The newest state we know of an object: a pending drift's, else the baseline's."""
        pending = next((p[name] for p in self._pending.values() if name in p), None)
        return pending[1] if pending else self.state.objects.get(name)

    def _get_same(self, key: ResourceKey, uid: str) -> dict[str, Any] | None:
        """The object if it still exists as the same object (a label edit, not a delete)."""
        obj = self.cluster.get(key)
        return obj if obj is not None and obj["metadata"].get("uid") == uid else None

    async def _relist(self, rtype: ResourceType, kid: str, *, report: bool) -> None:
        items, version = await asyncio.to_thread(list_kind, self.cluster, rtype, self.selector)
        seen = set()
        for obj in items:
            key = ResourceKey.of(obj)
            seen.add(str(key))
            self._observe(key, obj, report=report)
        group = api_group(rtype.api_version)
        for name, known in list(self.state.objects.items()):
            key = ResourceKey.parse(name)
            if (key.group, key.kind) == (group, rtype.kind) and name not in seen:
                self._observe(key, await asyncio.to_thread(self._get_same, key, known.uid), report=report)
        self.state.kinds[kid] = version
        self._dirty = True

    # --- one kind -----------------------------------------------------------------------
    async def _follow(self, api_version: str, kind: str) -> None:
        kid, backoff, gone = f"{api_version}/{kind}", 1.0, False
        while True:
            try:
                rtype = await asyncio.to_thread(self.cluster.resource_type, api_version, kind)
                if gone or kid not in self.state.kinds:
                    await self._relist(rtype, kid, report=kid in self.state.kinds)
                    gone = False
                async for event in watch_kind(self.cluster, rtype, label_selector=self.selector,
                                              resource_version=self.state.kinds[kid], timeout=self.watch_timeout):
                    await self._on_event(kid, event)
                    backoff = 1.0
            except asyncio.CancelledError:
                raise
            except Gone as exc:
                self.relists += 1
                gone = True
                log.warning("watch of %s: resourceVersion %s is gone (%s); listing again (re-list %d of this watch)",
                            kind, self.state.kinds.get(kid), exc, self.relists)
            except NotServed:
                self._mark_opened(kid)  # nothing to wait for; look again later (a CRD may come)
                await asyncio.sleep(60)
            except Exception as exc:  # noqa: BLE001 - one kind's failure must not end the watch
                log.warning("watch of %s failed (%s: %s); retrying in %.0f s", kind, type(exc).__name__, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)

    async def _on_event(self, kid: str, event: dict[str, Any]) -> None:
        kind_of_event, obj = event["type"], event.get("object") or {}
        if kind_of_event == "opened":
            self._mark_opened(kid)
            return
        version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
        if kind_of_event in ("ADDED", "MODIFIED", "DELETED"):
            api_version, kind = kid.rsplit("/", 1)
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            key, uid = ResourceKey.of(obj), obj["metadata"].get("uid")
            if kind_of_event == "DELETED":
                latest = self._latest(str(key))
                if latest is not None and (latest.uid != uid or not _newer(version, latest.resource_version)):
                    return  # a replayed delete, or one of an earlier object of that name
                # also sent when the object left our label selector: a GET tells which
                obj = await asyncio.to_thread(self._get_same, key, uid)
            self._observe(key, obj, report=True)
        if version:
            self.state.kinds[kid] = version
            self._dirty = True

    def _mark_opened(self, kid: str) -> None:
        self._opened.add(kid)
        if len(self._opened) >= len(self.kinds) and not self.ready.is_set():
            self.ready.set()
            self._wake.set()

    # --- the stream ---------------------------------------------------------------------
    async def drifts(self, *, save_interval: float = 2.0) -> AsyncIterator[Drift]:
        """Yield drift for ever; cancel (or close) the iteration to stop every watch."""
        loop = asyncio.get_running_loop()
        self.ready, self._wake = asyncio.Event(), asyncio.Event()
        self.state = WatchState.load(self.state_path)
        widen_pool(self.cluster.api_client, len(self.kinds) + 4)
        tasks = [asyncio.create_task(self._follow(av, k), name=f"watch {k}") for av, k in self.kinds]
        last_save, saved_ready = 0.0, False
        try:
            while True:
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation
                # that arrives as its timeout fires, and the watch would then never stop
                try:
                    async with asyncio.timeout(save_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
                force = False
                if any(self._pending.values()):
                    await asyncio.sleep(max(0.0, self._first_pending + self.debounce - loop.time()))
                    batch, self._pending = self._pending, {}
                    for app in sorted(batch):
                        # the baseline moves on in memory before the hand-out, so changes that
                        # arrive meanwhile are judged against it; the file only after it
                        for name, (_, after) in batch[app].items():
                            if after is not None and after.owned:
                                self.state.objects[name] = after
                            else:
                                self.state.objects.pop(name, None)
                        yield Drift(app, tuple(sorted((d for d, _ in batch[app].values()), key=lambda d: d.key)))
                    self._dirty, force = True, True
                if not any(self._pending.values()) and self._dirty and (
                        force or loop.time() - last_save >= save_interval or (self.ready.is_set() and not saved_ready)):
                    self.state.save(self.state_path)
                    last_save, self._dirty, saved_ready = loop.time(), False, self.ready.is_set()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

