"""Who owns which field of a live object, as the diff needs it: our manager's Apply set and the others'.

A server-side apply removes a field when the applier owned it, the new config lacks it and no
other manager owns it too: that is how "removed from Git" becomes a change. So the local diff
walks ``metadata.managedFields`` (``fieldsV1`` trees: ``f:<field>``, ``k:<key json>`` for a list
item by its merge key, ``v:<value json>`` for a set item, ``.`` for the node itself) next to
the object. A node is a plain dict of the tree; ``others`` is a tuple of the other managers'
nodes at the same place (empty: nobody else owns it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from include.gitops.types import FIELD_MANAGER

Node = dict[str, Any]


@dataclass(frozen=True)
class Owners:
    """``ours``: the tree of ``manager``'s Apply entry (None: we never applied this object);
    ``others``: the trees of every other entry (other managers, and our own non-Apply writes,
    which an apply does not take back)."""

    ours: Node | None
    others: tuple[Node, ...] = ()

    @classmethod
    def of(cls, obj: dict[str, Any] | None, manager: str = FIELD_MANAGER) -> Owners:
        ours: Node | None = None
        others: list[Node] = []
        for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
            if entry.get("fieldsType", "FieldsV1") != "FieldsV1":
                continue
            tree = entry.get("fieldsV1") or {}
            if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
                ours = tree
            else:
                others.append(tree)
        return cls(ours, tuple(others))


def child(node: Node | None, token: str) -> Node | None:
    return node.get(token) if node else None


def children(nodes: tuple[Node, ...], token: str) -> tuple[Node, ...]:
    return tuple(n[token] for n in nodes if token in n)


def is_leaf(node: Node) -> bool:
    """Owned as a whole (a scalar, an atomic list or map): no owned fields below it."""
    return all(k == "." for k in node)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def key_token(key: dict[str, Any]) -> str:
    """The ``k:`` token of a list item with merge key ``key`` (the server writes it sorted, compact)."""
    return "k:" + _compact(key)


def value_token(value: Any) -> str:
    return "v:" + _compact(value)


def find(node: Node | None, token: str) -> tuple[str, Node] | None:
    """The child ``token`` of ``node``, also when the server spelled its JSON differently."""
    if not node:
        return None
    if token in node:
        return token, node[token]
    prefix, wanted = token[:2], json.loads(token[2:])
    for candidate, sub in node.items():
        if candidate.startswith(prefix):
            try:
                if json.loads(candidate[2:]) == wanted:
                    return candidate, sub
            except ValueError:
                continue
    return None


def inferred_list_keys(nodes: Iterable[Node | None]) -> tuple[str, ...] | str | None:
    """The list type the server used, read from the ownership of its items: the merge keys of a
    ``k:`` item, ``"set"`` for ``v:`` items, None for an atomic (or unowned) list. This is how a
    custom resource's ``x-kubernetes-list-type`` reaches the diff without reading its CRD."""
    for node in nodes:
        for token in node or ():
            if token.startswith("k:"):
                try:
                    return tuple(sorted(json.loads(token[2:])))
                except ValueError:
                    return None
            if token.startswith("v:"):
                return "set"
    return None
