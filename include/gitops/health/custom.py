"""Health of custom resources from rules written as data (Argo CD's ``resource.customizations.health``, without Lua).

The rules file (YAML) is named by ``$DELIVERY_HEALTH_RULES``; kinds without a rule have no health,
as before. Per kind, the rules are tried in order and the first that matches gives the health::

    - group: db.example.com
      kind: Database
      rules:
        - when: {condition: Ready, status: "False"}       # a status condition
          health: Degraded
        - when: {field: status.phase, in: [Pending, Provisioning]}
          health: Progressing
          message: "database is being provisioned"
        - when: {condition: Ready, status: "True"}
          health: Healthy
      default: Progressing                                  # no rule matched (default: Unknown)

A ``when`` holds ``condition`` + ``status``, or ``field`` (a dotted path) with ``in``, ``equals``
or ``exists``; all keys of one ``when`` must hold. Without ``message``, a condition's own message
(or the field's value) is the message. A rule file that does not parse fails the health check
with the file, the entry and the fix (as Unknown, through ``health_of``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from include.common.errors import InputError
from include.gitops.health.status import HealthCode, HealthStatus, condition

RULES_ENV = "DELIVERY_HEALTH_RULES"
_MISSING = object()


@dataclass(frozen=True)
class Rule:
    when: dict[str, Any]
    health: HealthCode
    message: str = ""


def _field(obj: dict, path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _match(rule: Rule, obj: dict) -> str | None:
    """The message when ``rule`` matches ``obj``, else None."""
    when, said = rule.when, ""
    if "condition" in when:
        cond = condition(obj, str(when["condition"])) or {}
        if str(cond.get("status")) != str(when.get("status", "True")):
            return None
        said = cond.get("message") or cond.get("reason") or f"{when['condition']} is {cond.get('status')}"
    if "field" in when:
        value = _field(obj, str(when["field"]))
        if "exists" in when and (value is not _MISSING) != bool(when["exists"]):
            return None
        if "equals" in when and value != when["equals"]:
            return None
        if "in" in when and value not in when["in"]:
            return None
        said = said or (f"{when['field']} is {value}" if value is not _MISSING else f"{when['field']} is not set")
    return rule.message or said


def _parse(text: str, source: str) -> dict[tuple[str, str], tuple[list[Rule], HealthCode]]:
    import yaml

    try:
        entries = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        raise InputError(source, f"is not valid YAML: {exc}", "fix the file's syntax") from None
    if not isinstance(entries, list):
        raise InputError(source, "is not a list of kinds", "write a list: - {group, kind, rules: [...], default}")
    table = {}
    for i, entry in enumerate(entries):
        where = f"{source} entry {i + 1}"
        try:
            rules = [Rule(dict(r["when"]), HealthCode(r["health"]), str(r.get("message", ""))) for r in entry["rules"]]
            default = HealthCode(entry.get("default", "Unknown"))
            key = (str(entry.get("group", "")), str(entry["kind"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(where, f"is not a health rule ({type(exc).__name__}: {exc})",
                             f"each entry needs group, kind and rules of {{when, health}}; health is one of "
                             f"{', '.join(c.value for c in HealthCode)}") from None
        if any(not ({"condition", "field"} & set(r.when)) for r in rules):
            raise InputError(where, "has a rule whose `when` names neither a condition nor a field",
                             "write when: {condition: Ready, status: \"True\"} or when: {field: status.phase, in: [...]}")
        table[key] = (rules, default)
    return table


@lru_cache(maxsize=8)
def _load(version: tuple[str, float]) -> dict[tuple[str, str], tuple[list[Rule], HealthCode]]:
    """The parsed file, cached per (path, mtime): an edited file is read again."""
    return _parse(Path(version[0]).read_text(), version[0])


def rules_table() -> dict[tuple[str, str], tuple[list[Rule], HealthCode]]:
    """The rules of ``$DELIVERY_HEALTH_RULES`` (re-read when the file changes); empty when unset."""
    path = os.environ.get(RULES_ENV)
    if not path:
        return {}
    if not Path(path).is_file():
        raise InputError(RULES_ENV, f"names {path}, which does not exist", "fix the path or unset the variable")
    return _load((path, Path(path).stat().st_mtime))


def custom_health(group: str, kind: str, obj: dict) -> HealthStatus | None:
    """The health of ``obj`` by the rules for (group, kind); None when there are none."""
    found = rules_table().get((group, kind))
    if found is None:
        return None
    rules, default = found
    for rule in rules:
        said = _match(rule, obj)
        if said is not None:
            return HealthStatus(rule.health, said)
    return HealthStatus(default, f"no health rule matched (default {default.value})")
