"""Field ownership as the API server records it (``metadata.managedFields``), as plain paths.

Drift, seen from a watch, is judged with the server's own semantics rather than by diffing
values: our server-side apply makes our field manager the owner of exactly the fields Git sets.
When another manager's update changes one of them (``kubectl edit``, ``kubectl scale`` of a
replica count we set) the server moves that field to the other manager; when it removes one, the
field leaves our set. So *a field that leaves our manager's set is drift*, and everything we
never owned (status, defaults, replicas an HPA sets, annotations a controller adds) is not,
whatever its value does.

Paths are readable and stable, one per owned node of ``fieldsV1``:
``spec.template.spec.containers[name=web].image``, ``metadata.labels["app.delivery.io/name"]``,
``spec.ports[port=80,protocol=TCP]`` (a list item by its merge key), ``spec.finalizers[="x"]``
(a set item) and ``spec.args[0]`` (by index).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _segment(key: str) -> str:
    kind, _, rest = key.partition(":")
    if kind == "f":
        return f".{rest}" if _PLAIN.fullmatch(rest) else f"[{json.dumps(rest)}]"
    if kind == "k":
        item = json.loads(rest)
        return "[" + ",".join(f"{k}={v}" for k, v in sorted(item.items())) + "]"
    if kind == "v":
        return f"[={rest}]"
    if kind == "i":
        return f"[{rest}]"
    return f"[{json.dumps(key)}]"


def _flatten(node: dict[str, Any], prefix: str, out: set[str]) -> None:
    for key, child in node.items():
        if key == ".":
            continue
        path = prefix + _segment(key)
        # a leaf, or a map / list item that is owned as a whole ("." inside it)
        if not child or "." in child:
            out.add(path.lstrip("."))
        if child:
            _flatten(child, path, out)


def fields_of(fields_v1: dict[str, Any] | None) -> set[str]:
    """The paths one ``managedFields`` entry owns."""
    out: set[str] = set()
    _flatten(fields_v1 or {}, "", out)
    return out


def owned_by(obj: dict[str, Any]) -> dict[str, set[str]]:
    """manager -> the paths it owns (its Apply and Update entries together; subresources too)."""
    owners: dict[str, set[str]] = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        owners.setdefault(entry.get("manager") or "", set()).update(fields_of(entry.get("fieldsV1")))
    return owners


def last_write(obj: dict[str, Any], manager: str) -> str:
    """When ``manager`` last wrote the object (its newest entry's ``time``), "" when it owns nothing.

    The server stamps only the manager that made a request, so a changed stamp means we wrote
    the object ourselves (a sync), and an unchanged one that someone else did.
    """
    times = [e.get("time") or "" for e in (obj.get("metadata") or {}).get("managedFields") or []
             if e.get("manager") == manager]
    return max(times, default="")


def is_under(path: str, ancestor: str) -> bool:
    return path.startswith(ancestor) and path[len(ancestor):len(ancestor) + 1] in (".", "[")


def topmost(paths: Iterable[str]) -> list[str]:
    """``paths`` without those whose ancestor is also listed (a removed container, not each field)."""
    ordered = sorted(set(paths))
    return [p for p in ordered if not any(is_under(p, q) for q in ordered if q != p)]


@dataclass(frozen=True)
class Ownership:
    """What we remember of one object: who we are to it, in plain data (persisted as JSON)."""

    uid: str
    resource_version: str
    app: str
    written: str  # our manager's last write stamp
    owned: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, obj: dict[str, Any], manager: str, app_label: str) -> Ownership:
        meta = obj.get("metadata") or {}
        return cls(uid=str(meta.get("uid") or ""), resource_version=str(meta.get("resourceVersion") or ""),
                   app=str((meta.get("labels") or {}).get(app_label) or ""), written=last_write(obj, manager),
                   owned=frozenset(owned_by(obj).get(manager, set())))

    def as_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "resource_version": self.resource_version, "app": self.app, "written": self.written,
                "owned": sorted(self.owned)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ownership:
        return cls(uid=data["uid"], resource_version=data["resource_version"], app=data["app"],
                   written=data.get("written", ""), owned=frozenset(data.get("owned") or ()))


@dataclass(frozen=True)
class FieldChange:
    """One object's drift: ``change`` is ``modified`` (fields left our set) or ``deleted``.

    ``by`` names the managers that own the lost fields now (empty: the fields were removed).
    """

    change: str
    fields: tuple[str, ...] = ()
    by: tuple[str, ...] = ()


def judge(before: Ownership | None, obj: dict[str, Any] | None, manager: str) -> FieldChange | None:
    """The drift between what we owned (``before``) and the live object (None: it is gone)."""
    if before is None or not before.owned:
        return None  # a new object (our sync created it) or one we never owned fields of
    if obj is None:
        return FieldChange("deleted")
    written = last_write(obj, manager)
    if written and written != before.written:
        return None  # our own apply: what we own now is what Git says
    owners = owned_by(obj)
    lost = before.owned - owners.get(manager, set())
    if not lost:
        return None
    by = sorted({m for m, paths in owners.items() if m != manager and any(p in paths for p in lost)})
    return FieldChange("modified", tuple(topmost(lost)), tuple(by))
