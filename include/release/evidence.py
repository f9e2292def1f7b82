"""The evidence a release brings, each checked at its source, not taken from a message.

Each function returns an :class:`Evidence`: whether it holds, why (in words a person can act on),
and the digest of what was checked, so the decision names exactly what it relied on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Evidence:
    name: str
    ok: bool
    detail: str
    digest: str = ""  # sha256:<hex> of the record checked (a report, a tag set)
    source: str = ""  # where it was read

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def model_blessed(version: dict[str, Any]) -> Evidence:
    """The promotion gate's decision on the model version (its ``delivery.gate.*`` tags).

    :param version: ``include.mlops.registry.alias_version``'s dict (name, version, run_id, tags).
    """
    tags = version.get("tags") or {}
    ref = f"models:/{version['name']}/{version['version']}"
    gate = {k: v for k, v in sorted(tags.items()) if k.startswith("delivery.gate.")}
    digest = _digest(json.dumps(gate, sort_keys=True).encode()) if gate else ""
    decision = tags.get("delivery.gate.decision")
    if decision is None:
        return Evidence("model_blessed", False, f"{ref} has no promotion-gate decision (no delivery.gate.decision tag): "
                        "register it through mlops_train_register, whose gate tags the version", source=ref)
    if decision != "blessed":
        return Evidence("model_blessed", False, f"{ref} was {decision} by the promotion gate: "
                        f"{tags.get('delivery.gate.reasons') or 'no reason recorded'}", digest, ref)
    detail = (f"{ref} blessed: {tags.get('delivery.gate.metric')} {tags.get('delivery.gate.challenger_value')} "
              f"vs champion v{tags.get('delivery.gate.champion_version')} {tags.get('delivery.gate.champion_value')} "
              f"(policy {tags.get('delivery.gate.policy')})")
    return Evidence("model_blessed", True, detail, digest, ref)


def data_validated(version: dict[str, Any], lineage: dict[str, str]) -> Evidence:
    """The validation result of the version's training data, for that exact data hash, passed.

    :param lineage: ``include.mlops.registry.run_lineage`` of the version's training run
        (``data_hash`` and ``validation_result`` from its tags): that ``validation.json``'s batch
        sha256 must equal the data hash.
    """
    ref = f"models:/{version['name']}/{version['version']}"
    data_hash = lineage.get("data_hash")
    result_path = lineage.get("validation_result")
    if not data_hash:
        return Evidence("data_validated", False, f"the training run of {ref} records no data hash "
                        "(tag delivery.data_sha256): nothing ties it to a validated batch", source=ref)
    if not result_path:
        return Evidence("data_validated", False, f"the training run of {ref} names no validation result "
                        f"(tag delivery.validation_result) for data {data_hash[:12]}", source=ref)
    result_file = Path(result_path)
    if not result_file.is_file():
        return Evidence("data_validated", False, f"no validation result at {result_file} for data {data_hash[:12]} "
                        f"of {ref}: validate the batch again (mlops_train_register)", source=str(result_file))
    raw = result_file.read_bytes()
    result = json.loads(raw)
    checked = (result.get("batch") or {}).get("sha256")
    digest = _digest(raw)
    if checked != data_hash:
        return Evidence("data_validated", False, f"the validation result {result_file} is for data "
                        f"{(checked or 'unknown')[:12]}, not for {data_hash[:12]} that trained {ref}",
                        digest, str(result_file))
    if not result.get("success"):
        return Evidence("data_validated", False, f"the validation of data {data_hash[:12]} failed "
                        f"({result_file})", digest, str(result_file))
    stats = result.get("statistics") or {}
    return Evidence("data_validated", True, f"data {data_hash[:12]} passed validation "
                    f"({stats.get('successful_expectations', '?')}/{stats.get('evaluated_expectations', '?')} "
                    f"expectations)", digest, str(result_file))


def approval(response: dict[str, Any] | None) -> Evidence:
    """A person approved this run: the Airflow HITL ApprovalOperator's result (its XCom)."""
    if not response:
        return Evidence("approval", False, "nobody approved this run: run it with require_approval=true and "
                        "approve it in the Airflow UI (Required actions)")
    chosen = response.get("chosen_options") or []
    who = response.get("responded_by_user") or {}
    name = who.get("name") or who.get("id") or "unknown"
    if chosen != ["Approve"]:
        return Evidence("approval", False, f"{name} answered {chosen}, not Approve")
    at = response.get("responded_at")
    return Evidence("approval", True, f"approved by {name} at {at}", _digest(json.dumps(response, sort_keys=True,
                                                                                       default=str).encode()),
                    f"HITL response of {name}")


def sync_window_open(windows: list[dict[str, Any]], environment: str, *, now=None) -> Evidence:
    """No sync window of the environment blocks a change now."""
    from include.gitops.windows import parse_windows, verdict

    result = verdict(parse_windows(windows, f"release policy {environment}.sync_windows"), manual=False, now=now)
    if result.allowed:
        return Evidence("sync_window_open", True, result.reason or f"no sync window of {environment} blocks a change now")
    return Evidence("sync_window_open", False, f"{environment}: {result.reason}")
