"""The release decision for a model version reaching an environment (``mlops_promote_to_gitops``)."""

from __future__ import annotations

from typing import Any

from include.release import evidence, policy
from include.release.decision import Decision, decide, subject_digest


def model_version(client: Any, name: str, version: str) -> dict[str, Any]:
    """The registry's record of one version (tags included), read now: never trust the event's copy."""
    mv = client.get_model_version(name, str(version))
    return {"name": mv.name, "version": str(mv.version), "run_id": mv.run_id, "source": mv.source,
            "tags": dict(mv.tags or {})}


def needs_approval(target_path: str, policy_path: str | None = None) -> bool:
    """Whether the environment of ``target_path`` requires a person's approval for a model."""
    pol = policy.load(policy_path)
    return "approval" in pol.environment_for(target_path).required_for("model")


def decide_model(client: Any, target: dict, event: dict, *, approval: dict | None, run: dict[str, str],
                 policy_path: str | None = None) -> Decision:
    """Check every piece of evidence the target's environment requires for the sensor's new version.

    :param event: the alias sensor's event (``version``, ``model``: name, run_id, source).
    :param approval: the HITL approval's result, or None when nobody was asked.
    """
    from include.mlops import registry

    pol = policy.load(policy_path)
    env = pol.environment_for(target["path"])
    name = (event.get("model") or {}).get("name")
    version = model_version(client, name, str(event["version"]))
    lineage = registry.run_lineage(client, version["run_id"])
    found = [evidence.model_blessed(version), evidence.data_validated(version, lineage),
             evidence.sync_window_open(env.sync_windows, env.name)]
    if approval is not None or "approval" in env.require:
        found.append(evidence.approval(approval))
    described = {"name": f"models:/{version['name']}/{version['version']}", "run_id": version["run_id"],
                 "source": version["source"]}
    subject = {"name": described["name"], "digest": {"sha256": subject_digest(described)},
               "annotations": {"run_id": version["run_id"], "source": version["source"],
                               "data_hash": lineage.get("data_hash", "")}}
    return decide(pol, env, kind="model", subject=subject, evidence=found, target=target, run=run)
