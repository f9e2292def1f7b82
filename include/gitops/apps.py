"""Apps declared as data: ``apps.yaml`` at the root of the manifests repo, read like an
Argo CD ApplicationSet.

The file is the one place that says which folders of the repo are apps and how each is synced.
It lives in the repo it describes, so a change to it is reviewed, versioned and read at the same
commit as the manifests::

    apps:                                # plain entries
      - name: shop
        path: apps/shop/overlays/dev
        namespace: shop-dev
        automated: true                  # follow new commits (Argo CD: syncPolicy.automated)
    generators:
      - list:                            # one app per element, over the template
          elements:
            - {name: shop-prod, path: apps/shop/overlays/prod, namespace: shop-prod}
        template: {prune: true}
      - git:                             # one app per folder that matches a glob
          directories:
            - path: apps/*/overlays/dev
            - {path: apps/legacy/overlays/dev, exclude: true}
        template: {name: "{{path[1]}}-dev", automated: true}

A directory generator names each app after the folder: by default the parts its ``*`` matched,
joined by ``-`` (``apps/*/overlays/dev`` gives ``shop`` for ``apps/shop/overlays/dev``); a
template's ``name`` / ``namespace`` may use Argo CD's ``{{path.basename}}`` and ``{{path[N]}}``.
Everything here is plain data in, frozen dataclasses out: the caller passes the file's text and,
for directory generators, the folders of the commit.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from dataclasses import dataclass, fields
from typing import Any, Iterable

import yaml

from include.common.errors import InputError
from include.common.git import validate_ref

APPS_FILE = "apps.yaml"
# The same rule as the app param of the DAGs (plugins/delivery/params.py): the name is a label value.
APP_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PLACEHOLDER_RE = re.compile(r"\{\{\s*path(?:\.basename|\[(\d+)\])\s*\}\}")
_WILDCARDS = set("*?[")


@dataclass(frozen=True)
class App:
    """One app: a folder of the manifests repo synced into the cluster.

    :param automated: sync every new commit that changes the app (Argo CD's automated sync).
    :param self_heal: undo manual edits of the cluster (Argo CD's selfHeal); independent of automated.
    :param prune: delete our resources that are no longer in Git.
    """

    name: str
    path: str
    namespace: str = "default"
    revision: str = "main"
    automated: bool = False
    self_heal: bool = False
    prune: bool = False


_KEYS = [f.name for f in fields(App)]
_BOOLS = {"automated", "self_heal", "prune"}


def _mapping(value: Any, where: str, what: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(where, f"{what} must be a mapping, got {type(value).__name__}", f"write {what} as key: value lines")
    return value


def _check_keys(entry: dict, allowed: Iterable[str], where: str) -> None:
    allowed = list(allowed)
    for key in entry:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(where, f"unknown key {key!r}", f"{hint}the keys are {', '.join(allowed)}")


def _app(entry: dict, where: str) -> App:
    """One App from a merged entry, every field checked."""
    from include.links.manifests import validate_overlay

    _check_keys(entry, _KEYS, where)
    for key in ("name", "path"):
        if not entry.get(key):
            raise InputError(where, f"has no {key}", f"add {key}: to the entry (e.g. name: shop, path: apps/shop/overlays/dev)")
    name = entry["name"]
    if not isinstance(name, str) or not re.match(APP_PATTERN, name):
        raise InputError(where, f"name {name!r} is not a valid app name",
                    "use lower-case letters, digits and '-', starting and ending with a letter or digit")
    where = f"{where} (app {name!r})"
    try:
        path = validate_overlay(entry["path"])
        revision = validate_ref(str(entry.get("revision", "main")), "revision")
    except InputError as exc:
        raise InputError(where, exc.problem, exc.fix) from exc
    namespace = entry.get("namespace", "default")
    if not isinstance(namespace, str) or not _NAMESPACE_RE.match(namespace):
        raise InputError(where, f"namespace {namespace!r} is not a Kubernetes namespace name",
                    "use lower-case letters, digits and '-' (at most 63)")
    for key in _BOOLS & set(entry):
        if not isinstance(entry[key], bool):
            raise InputError(where, f"{key} is {entry[key]!r}, not true or false", f"write {key}: true or {key}: false")
    return App(name=name, path=path, namespace=namespace, revision=revision,
               **{key: entry[key] for key in _BOOLS & set(entry)})


def _fill(template: dict, path: str) -> dict:
    """The template's ``name`` / ``namespace`` with ``{{path.basename}}`` / ``{{path[N]}}`` filled in."""
    parts = path.split("/")

    def sub(match: re.Match) -> str:
        if match.group(1) is None:
            return parts[-1]
        index = int(match.group(1))
        if index >= len(parts):
            raise InputError("template", f"{match.group(0)} points past {path!r} ({len(parts)} parts)",
                        "count the path's parts from 0")
        return parts[index]

    return {k: _PLACEHOLDER_RE.sub(sub, v) if isinstance(v, str) and k in ("name", "namespace") else v
            for k, v in template.items()}


def _match(pattern: str, folder: str) -> str | None:
    """The default app name for ``folder`` when it matches ``pattern`` (a ``*`` never crosses ``/``)."""
    want, got = pattern.strip("/").split("/"), folder.split("/")
    if len(want) != len(got) or not all(fnmatch.fnmatchcase(g, w) for w, g in zip(want, got)):
        return None
    picked = [g for w, g in zip(want, got) if _WILDCARDS & set(w)]
    return "-".join(picked or got[-1:])


def _directories(spec: Any, folders: list[str], where: str) -> list[tuple[str, str]]:
    """(folder, default name) for every folder an include glob matches and no exclude glob does."""
    if isinstance(spec, str):
        spec = [{"path": spec}]
    if not isinstance(spec, list) or not spec:
        raise InputError(where, "directories must be a list of {path: <glob>} entries",
                    "e.g. directories: [{path: apps/*/overlays/dev}]")
    include, exclude = [], []
    for n, item in enumerate(spec):
        item = {"path": item} if isinstance(item, str) else _mapping(item, f"{where}.directories[{n}]", "the entry")
        _check_keys(item, ["path", "exclude"], f"{where}.directories[{n}]")
        if not isinstance(item.get("path"), str) or not item["path"].strip("/"):
            raise InputError(f"{where}.directories[{n}]", "has no path glob", "add path: apps/*/overlays/dev")
        (exclude if item.get("exclude") is True else include).append(item["path"])
    found = []
    for folder in sorted(folders):
        names = [name for name in (_match(p, folder) for p in include) if name]
        if names and not any(_match(p, folder) for p in exclude):
            found.append((folder, names[0]))
    return found


def _generated(generator: Any, where: str, folders: list[str]) -> list[tuple[str, dict]]:
    generator = _mapping(generator, where, "a generator")
    _check_keys(generator, ["list", "git", "template"], where)
    kinds = [k for k in ("list", "git") if k in generator]
    if len(kinds) != 1:
        raise InputError(where, f"names {len(kinds)} generator kinds", "give exactly one of list: or git: per generator")
    template = _mapping(generator.get("template") or {}, f"{where}.template", "the template")
    body = _mapping(generator[kinds[0]], f"{where}.{kinds[0]}", f"{kinds[0]}:")
    if kinds[0] == "list":
        _check_keys(body, ["elements"], f"{where}.list")
        elements = body.get("elements")
        if not isinstance(elements, list):
            raise InputError(f"{where}.list", "has no elements list", "add elements: [{name: ..., path: ...}]")
        return [(f"{where}.list.elements[{n}]", {**template, **_mapping(e, f"{where}.list.elements[{n}]", "an element")})
                for n, e in enumerate(elements)]
    _check_keys(body, ["directories"], f"{where}.git")
    out = []
    for folder, name in _directories(body.get("directories"), folders, f"{where}.git"):
        try:
            out.append((f"{where}.git folder {folder}", {"name": name, **_fill(template, folder), "path": folder}))
        except InputError as exc:
            raise InputError(f"{where}.template", exc.problem, exc.fix) from exc
    return out


def parse_apps(text: str | None, *, folders: Iterable[str] = (), source: str = APPS_FILE) -> tuple[App, ...]:
    """The apps that ``apps.yaml`` (``text``; None: no such file, no apps) declares, sorted by name.

    :param folders: the repo's folders at the same commit, for ``git`` directory generators.
    :param source: names the file in errors (e.g. ``apps.yaml at 1a2b3c4d5e6f``).
    :raises InputError: naming the file, the entry and the fix, for any bad entry or duplicate name.
    """
    if text is None:
        return ()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(source, f"is not valid YAML: {exc}", "fix the file's syntax") from exc
    data = _mapping(data, source, "the file")
    _check_keys(data, ["apps", "generators"], source)
    entries: list[tuple[str, dict]] = []
    for key in ("apps", "generators"):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise InputError(f"{source} {key}", "must be a list", f"write {key}: as a list of '- ' entries")
        if key == "apps":
            entries += [(f"{source} apps[{n}]", _mapping(e, f"{source} apps[{n}]", "an app")) for n, e in enumerate(items)]
        else:
            folders = list(folders)
            for n, generator in enumerate(items):
                entries += _generated(generator, f"{source} generators[{n}]", folders)
    apps: dict[str, tuple[str, App]] = {}
    for where, entry in entries:
        app = _app(entry, where)
        if app.name in apps:
            raise InputError(where, f"app {app.name!r} is declared twice (first at {apps[app.name][0]})",
                        "give every app its own name (a template name such as '{{path[1]}}-dev' tells folders apart)")
        apps[app.name] = (where, app)
    return tuple(app for _, app in sorted(apps.values(), key=lambda item: item[1].name))
