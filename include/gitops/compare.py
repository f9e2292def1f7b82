"""Compare two objects field by field the way the API server merges them (the diff's core).

Used twice by :mod:`include.gitops.diff`: the local pass (Git against live, reading our field
manager's managedFields) and the full compare (a dry-run result against live). Both give JSON
pointers, a list item named by its live index (a new one: the index a sync gives it), so that
the two verdicts can be compared path for path.
"""

from __future__ import annotations

from typing import Any

from include.gitops import schema
from include.gitops.managed_fields import (Node, Owners, child, children, find, inferred_list_keys, is_leaf, key_token,
                                           value_token)
from include.gitops.quantity import same_quantity


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def _empty(value: Any) -> bool:
    # the server stores an empty list, string or map as absent (omitempty)
    return value is None or value == "" or value == [] or value == {}


def _zero(value: Any) -> bool:
    return value is False or (value == 0 and not isinstance(value, bool))


def merge_order(live_keys: list[Any], applied_keys: list[Any]) -> list[Any]:
    """The order of a merged list, as server-side apply makes it: the applied items in their
    order, each live-only item kept in front of the next item both lists share."""
    applied = set(applied_keys)
    out: list[Any] = []
    seen: set[Any] = set()

    def emit(key: Any) -> None:
        if key not in seen:
            seen.add(key)
            out.append(key)

    li = ai = 0
    while li < len(live_keys) or ai < len(applied_keys):
        if li < len(live_keys) and ai < len(applied_keys):
            key = live_keys[li]
            if key == applied_keys[ai]:
                emit(key)
                li, ai = li + 1, ai + 1
            elif key in applied:
                emit(applied_keys[ai])
                ai += 1
            else:
                emit(key)
                li += 1
        elif li < len(live_keys):
            emit(live_keys[li])
            li += 1
        else:
            emit(applied_keys[ai])
            ai += 1
    return out


class _Walk:
    """One comparison of a desired (or dry-run) object with a live one; ``out`` collects JSON
    pointers. ``subset``: the local pass (only what Git sets, plus what our manager owns);
    otherwise both sides are the server's and are compared in full."""

    def __init__(self, *, subset: bool, group: str, kind: str, owners: Owners | None):
        self.subset, self.group, self.kind = subset, group, kind
        self.owners = owners or Owners(None)
        self.out: list[str] = []

    # --- values --------------------------------------------------------------------------
    def walk(self, d: Any, l: Any, ptr: str, spath: tuple[str, ...], ours: Node | None, others: tuple[Node, ...]) -> None:
        if d is l or (type(d) is type(l) and d == l):
            return
        if isinstance(d, dict) and isinstance(l, dict):
            self.walk_map(d, l, ptr, spath, ours, others)
        elif isinstance(d, list) and isinstance(l, list):
            self.walk_list(d, l, ptr, spath, ours, others)
        elif not self.same_scalar(d, l, spath):
            self.out.append(ptr or "/")

    def same_scalar(self, d: Any, l: Any, spath: tuple[str, ...]) -> bool:
        if d == l and isinstance(d, bool) == isinstance(l, bool):
            return True
        if _empty(d) and _empty(l):
            return True
        if schema.is_quantity(self.group, self.kind, spath):
            return bool(same_quantity(d, l))
        return False

    def walk_map(self, d: dict, l: dict, ptr: str, spath: tuple[str, ...], ours: Node | None, others: tuple[Node, ...]) -> None:
        for key, dv in d.items():
            sub, sp, token = f"{ptr}/{_escape(key)}", (*spath, key), f"f:{key}"
            if key in l:
                if dv is None and self.subset:
                    # null in Git: our apply claims the field and the server stores its zero value
                    self.removed(l[key], sub, sp, child(ours, token) or {}, children(others, token), d)
                else:
                    self.walk(dv, l[key], sub, sp, child(ours, token), children(others, token))
            elif _empty(dv) or (_zero(dv) and child(ours, token) is not None):
                continue  # stored as absent: an empty value, or a zero we applied (omitempty)
            elif isinstance(dv, dict):
                self.walk(dv, {}, sub, sp, child(ours, token), ())  # name the leaves, not the parent
            else:
                self.out.append(sub)
        for key, lv in l.items():
            if key in d:
                continue
            sub, sp, token = f"{ptr}/{_escape(key)}", (*spath, key), f"f:{key}"
            if self.subset:
                self.removed(lv, sub, sp, child(ours, token), children(others, token), d)
            elif not _empty(lv):
                self.report(lv, sub)

    def report(self, value: Any, ptr: str) -> None:
        """Every leaf of a field only one side has (a map names its leaves)."""
        if isinstance(value, dict) and value:
            for key, sub in value.items():
                if not _empty(sub):
                    self.report(sub, f"{ptr}/{_escape(key)}")
        else:
            self.out.append(ptr or "/")

    # --- fields Git no longer sets ---------------------------------------------------------
    def removed(self, lv: Any, ptr: str, spath: tuple[str, ...], ours: Node | None, others: tuple[Node, ...],
                holder: dict | None, skip: tuple[str, ...] = ()) -> None:
        """``lv`` is live but not in Git: a sync removes what only our manager owns, unless the
        server gives it back as a default."""
        if ours is None:
            return  # not ours: another manager's field or a server default
        if is_leaf(ours) or not isinstance(lv, (dict, list)):
            if others or _empty(lv):
                return  # another manager keeps it, or it is stored as absent already
            default = schema.server_default(self.group, self.kind, spath, holder)
            if default is not schema.NO_DEFAULT and (default == lv or self.same_scalar(default, lv, spath)):
                return
            self.report(lv, ptr)
            return
        if isinstance(lv, dict):
            for token, sub in ours.items():
                name = token[2:]
                if token.startswith("f:") and name in lv and name not in skip:
                    self.removed(lv[name], f"{ptr}/{_escape(name)}", (*spath, name), sub, children(others, token), lv)
            return
        keys = self.list_keys(spath, ours, others)
        if keys is None:
            return
        for index, item in enumerate(lv):
            token = self.item_token(item, keys)
            found = find(ours, token) if token else None
            if found is None:
                continue
            self.removed_item(item, f"{ptr}/{index}", spath, found[1], children(others, found[0]), keys)

    def removed_item(self, item: Any, ptr: str, spath: tuple[str, ...], ours: Node, others: tuple[Node, ...],
                     keys: tuple[str, ...] | str) -> None:
        if not any("." in node for node in others):
            # the item itself is ours alone: it goes, with the fields others set in it
            self.out.append(ptr)
        elif isinstance(item, dict) and keys != schema.SET:
            # another manager keeps the item: only our fields of it go (its key stays)
            self.removed(item, ptr, (*spath, "[]"), ours, others, item, skip=tuple(keys))

    # --- lists ---------------------------------------------------------------------------
    def list_keys(self, spath: tuple[str, ...], ours: Node | None, others: tuple[Node, ...]) -> tuple[str, ...] | str | None:
        keys = schema.list_keys(self.group, self.kind, spath)
        if keys is None:
            inferred = inferred_list_keys((ours, *others))
            keys = schema.SET if inferred == "set" else inferred
        return keys

    @staticmethod
    def item_key(item: Any, keys: tuple[str, ...] | str) -> Any:
        if keys == schema.SET:
            return item if not isinstance(item, (dict, list)) else None
        if not isinstance(item, dict):
            return None
        key = tuple(item.get(k, schema.KEY_DEFAULTS.get(k)) for k in keys)
        # a key field that is a map or a list is not a key the server accepts: compare atomically
        return None if any(isinstance(v, (dict, list)) for v in key) else key

    @staticmethod
    def item_token(item: Any, keys: tuple[str, ...] | str) -> str | None:
        if keys == schema.SET:
            return value_token(item) if not isinstance(item, (dict, list)) else None
        if not isinstance(item, dict):
            return None
        key = {k: item.get(k, schema.KEY_DEFAULTS.get(k)) for k in keys}
        return key_token({k: v for k, v in key.items() if v is not None})

    def walk_list(self, d: list, l: list, ptr: str, spath: tuple[str, ...], ours: Node | None, others: tuple[Node, ...]) -> None:
        keys = self.list_keys(spath, ours, others)
        d_keys = [self.item_key(i, keys) for i in d] if keys is not None else []
        l_keys = [self.item_key(i, keys) for i in l] if keys is not None else []
        if keys is None or None in d_keys or None in l_keys or len(set(d_keys)) < len(d_keys) or len(set(l_keys)) < len(l_keys):
            self.walk_atomic(d, l, ptr, spath)
            return
        item_path = (*spath, "[]")
        at = {k: i for i, k in enumerate(l_keys)}
        wanted = set(d_keys)
        gone: set[Any] = set()
        for index, (item, key) in enumerate(zip(l, l_keys, strict=True)):
            if key in wanted:
                continue
            if not self.subset:
                self.out.append(f"{ptr}/{index}")
                continue
            found = find(ours, self.item_token(item, keys) or "")
            if found is not None:
                item_others = children(others, found[0])
                self.removed_item(item, f"{ptr}/{index}", spath, found[1], item_others, keys)
                if not any("." in node for node in item_others):
                    gone.add(key)
        order: list[Any] | None = None
        for index, (item, key) in enumerate(zip(d, d_keys, strict=True)):
            if key in at:
                if keys != schema.SET:
                    found = find(ours, self.item_token(item, keys) or "")
                    token = found[0] if found else ""
                    self.walk(item, l[at[key]], f"{ptr}/{at[key]}", item_path, found[1] if found else None,
                              children(others, token) if token else ())
                continue
            if not self.subset:
                self.out.append(f"{ptr}/{index}")
                continue
            if order is None:
                order = [k for k in merge_order(l_keys, d_keys) if k not in gone]
            self.out.append(f"{ptr}/{order.index(key)}")  # where the sync puts it

    def walk_atomic(self, d: list, l: list, ptr: str, spath: tuple[str, ...]) -> None:
        """An atomic list is replaced as a whole: same length, then item by item."""
        if len(d) != len(l):
            self.out.append(ptr or "/")
            return
        for index, (di, li) in enumerate(zip(d, l, strict=True)):
            self.walk(di, li, f"{ptr}/{index}", (*spath, "[]"), None, ())


def compare(
    desired: Any,
    live: Any,
    *,
    subset: bool,
    path: str = "",
    group: str = "",
    kind: str = "",
    owners: Owners | None = None,
) -> list[str]:
    """JSON pointers where ``desired`` and ``live`` differ, with the server's semantics.

    With ``subset`` (the local pass) the fields in ``desired`` count, and of the live-only
    ones those that only our manager owns (``owners``, from managedFields): a sync removes
    them. In both modes: list items of a map list are matched by merge key (another manager's
    sidecar is not drift), quantities by value, and an empty value equals an absent one.
    ``group`` and ``kind`` pick the rows of :mod:`include.gitops.schema`. A list item's pointer
    uses its live index (a new item: the index the sync gives it).
    """
    walk = _Walk(subset=subset, group=group, kind=kind, owners=owners)
    ours = walk.owners.ours if subset else None
    walk.walk(desired, live, path, (), ours, walk.owners.others)
    return walk.out
