"""ignoreDifferences: rules, as data, that remove fields from both sides before the diff.

A rule matches by group and kind (and optionally name and namespace) and removes either
JSON pointers (RFC 6901, ``/spec/replicas``, ``/metadata/annotations/a~1b``) or every field
that a managedFields manager owns (for example ``kube-controller-manager`` or an HPA).
The dict form is Argo CD's::

    {"group": "apps", "kind": "Deployment", "name": "web",
     "jsonPointers": ["/spec/replicas"], "managedFieldsManagers": ["hpa-controller"]}
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from include.common.errors import InputError
from include.gitops.types import ResourceKey


@dataclass(frozen=True)
class IgnoreRule:
    kind: str
    group: str = ""
    name: str | None = None
    namespace: str | None = None
    json_pointers: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IgnoreRule:
        if not isinstance(data, dict) or not data.get("kind"):
            raise InputError(
                "ignore_differences", f"rule {data!r} has no kind", 'give {"group": "apps", "kind": "Deployment", "jsonPointers": [...]}'
            )
        pointers = tuple(data.get("jsonPointers") or ())
        for pointer in pointers:
            if not isinstance(pointer, str) or not pointer.startswith("/"):
                raise InputError("ignore_differences", f"{pointer!r} is not a JSON pointer", "JSON pointers start with '/', e.g. /spec/replicas")
        managers = tuple(data.get("managedFieldsManagers") or ())
        if not pointers and not managers:
            raise InputError(
                "ignore_differences", f"rule for {data['kind']} ignores nothing", "add jsonPointers or managedFieldsManagers"
            )
        return cls(
            kind=data["kind"],
            group=data.get("group", ""),
            name=data.get("name"),
            namespace=data.get("namespace"),
            json_pointers=pointers,
            managers=managers,
        )

    def matches(self, key: ResourceKey) -> bool:
        return (
            self.kind in (key.kind, "*")
            and self.group in (key.group, "*")
            and (self.name is None or self.name == key.name)
            and (self.namespace is None or self.namespace == key.namespace)
        )


def parse_rules(data: list[dict[str, Any]] | None) -> list[IgnoreRule]:
    return [IgnoreRule.from_dict(d) for d in data or []]


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def remove_pointer(obj: Any, pointer: str) -> None:
    """Remove the field at ``pointer`` from ``obj`` in place; a missing path is not an error."""
    tokens = [_unescape(t) for t in pointer.lstrip("/").split("/")] if pointer != "/" else []
    if not tokens:
        return
    parent = obj
    for token in tokens[:-1]:
        if isinstance(parent, dict) and token in parent:
            parent = parent[token]
        elif isinstance(parent, list) and token.isdigit() and int(token) < len(parent):
            parent = parent[int(token)]
        else:
            return
    last = tokens[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent.pop(int(last))


def _remove_owned(obj: Any, fields: dict[str, Any]) -> None:
    """Remove from ``obj`` every leaf listed in a managedFields ``fieldsV1`` tree."""
    for token, sub in fields.items():
        if token == ".":
            continue
        if token.startswith("f:") and isinstance(obj, dict):
            name = token[2:]
            if name not in obj:
                continue
            if sub and any(k != "." for k in sub):
                _remove_owned(obj[name], sub)
                if obj[name] in ({}, []):
                    obj.pop(name)
            else:
                obj.pop(name)
        elif token.startswith("k:") and isinstance(obj, list):
            wanted = json.loads(token[2:])
            for item in list(obj):
                if isinstance(item, dict) and all(item.get(k) == v for k, v in wanted.items()):
                    if sub and any(k != "." for k in sub):
                        _remove_owned(item, sub)
                        # keep the key fields: they identify the item and are shared
                        if set(item) <= set(wanted):
                            obj.remove(item)
                    else:
                        obj.remove(item)
        elif token.startswith("v:") and isinstance(obj, list):
            value = json.loads(token[2:])
            if value in obj:
                obj.remove(value)


def managed_fields(live: dict[str, Any], manager: str) -> list[dict[str, Any]]:
    """The fieldsV1 trees that ``manager`` owns on ``live``."""
    out = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("fieldsType", "FieldsV1") == "FieldsV1":
            out.append(entry.get("fieldsV1") or {})
    return out


def apply_ignore(
    desired: dict[str, Any], live: dict[str, Any] | None, rules: list[IgnoreRule], *, live_with_managed: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Copies of ``desired`` and ``live`` with every ignored field removed from both.

    ``live_with_managed`` is the live object before normalization (it still has managedFields);
    it defaults to ``live``.
    """
    key = ResourceKey.of(desired if desired else live or {})
    matching = [r for r in rules if r.matches(key)]
    if not matching:
        return desired, live
    desired, live = copy.deepcopy(desired), copy.deepcopy(live)
    source = live_with_managed if live_with_managed is not None else live
    for rule in matching:
        for pointer in rule.json_pointers:
            remove_pointer(desired, pointer)
            if live is not None:
                remove_pointer(live, pointer)
        for manager in rule.managers:
            for tree in managed_fields(source or {}, manager):
                _remove_owned(desired, tree)
                if live is not None:
                    _remove_owned(live, tree)
    return desired, live


def _get_pointer(obj: Any, pointer: str) -> tuple[bool, Any]:
    """(found, value) at ``pointer`` in ``obj``."""
    value = obj
    for token in (_unescape(t) for t in pointer.lstrip("/").split("/")):
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return False, None
    return True, value


def _set_pointer(obj: Any, pointer: str, value: Any) -> None:
    """Set ``pointer`` in ``obj`` to ``value``, creating the maps on the way (lists must exist)."""
    tokens = [_unescape(t) for t in pointer.lstrip("/").split("/")]
    parent = obj
    for token in tokens[:-1]:
        if isinstance(parent, list) and token.isdigit() and int(token) < len(parent):
            parent = parent[int(token)]
        elif isinstance(parent, dict):
            parent = parent.setdefault(token, {})
        else:
            return
    if isinstance(parent, dict):
        parent[tokens[-1]] = copy.deepcopy(value)
    elif isinstance(parent, list) and tokens[-1].isdigit() and int(tokens[-1]) < len(parent):
        parent[int(tokens[-1])] = copy.deepcopy(value)


def respect_ignored(desired: dict[str, Any], live: dict[str, Any] | None, rules: list[IgnoreRule]) -> dict[str, Any]:
    """The object to apply with Argo CD's ``RespectIgnoreDifferences=true``: a copy of ``desired``
    whose ignored JSON pointers carry the live values (so the apply keeps them, an HPA's
    ``/spec/replicas`` say) and without the fields an ignored manager owns (left to it). Not live
    yet: the ignored pointers are dropped, so the object is created without them."""
    key = ResourceKey.of(desired)
    matching = [r for r in rules if r.matches(key)]
    if not matching:
        return desired
    out = copy.deepcopy(desired)
    for rule in matching:
        for pointer in rule.json_pointers:
            found, value = _get_pointer(live, pointer) if live is not None else (False, None)
            if found:
                _set_pointer(out, pointer, value)
            else:
                remove_pointer(out, pointer)
        for manager in rule.managers:
            for tree in managed_fields(live or {}, manager):
                _remove_owned(out, tree)
    return out
