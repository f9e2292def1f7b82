"""The MLflow registry moves, as plain functions over an ``MlflowClient``: register a version,
move an alias (promote), move it back (roll back), tag versions, read the version an alias names.

Aliases, never the deprecated stages; alias names live in ``include.mlops.constants``. Every
move records why on the model version (``delivery.*`` tags), so the registry alone tells a
version's story. The caller passes the client (``MlflowHook.get_client()``); mlflow itself is
imported only inside the functions.
"""

from __future__ import annotations

from typing import Any, Mapping

# Training-run tags -> lineage keys (the first tag present wins), see :func:`run_lineage`.
LINEAGE_TAGS = {
    "data_hash": ("delivery.data_sha256", "delivery.data_hash"),
    "data_path": ("delivery.data_path",),
    "train_dag_run_id": ("delivery.dag_run_id",),
    "hpo_study": ("delivery.optuna_study", "delivery.study_name"),
    "validation_report": ("delivery.validation_report",),
    "validation_result": ("delivery.validation_result",),
    "code_sha": ("delivery.git_sha",),
}


def alias_version(client: Any, name: str, alias: str) -> dict[str, Any] | None:
    """The model version ``alias`` points to, as a dict, or None (no such model or alias)."""
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") or "not found" in str(exc).lower():
            return None
        raise
    return {"name": mv.name, "version": str(mv.version), "run_id": mv.run_id, "source": mv.source,
            "aliases": list(getattr(mv, "aliases", []) or []), "tags": dict(mv.tags or {})}


def tag_version(client: Any, name: str, version: str | int, tags: Mapping[str, Any]) -> None:
    """Set each tag on version ``version`` of ``name`` (values as text)."""
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, str(value))


def register(client: Any, name: str, model_uri: str, *, run_id: str | None, alias: str | None,
             tags: Mapping[str, Any]) -> tuple[str, bool]:
    """Register ``model_uri`` as a version of ``name`` (created if missing), tag it, set ``alias``.

    Idempotent: a version that already comes from ``run_id`` (a retried task) is reused.
    Returns (the version, whether it was reused). The ``mlflow`` module must point at the same
    store as ``client`` (``MlflowHook.activate()``): registering goes through its fluent API.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Registered by the delivery project's MLOps DAGs.")
    existing = client.search_model_versions(f"name='{name}' and run_id='{run_id}'") if run_id else []
    version = str(max(int(v.version) for v in existing)) if existing else str(mlflow.register_model(model_uri, name).version)
    tag_version(client, name, version, tags)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return version, bool(existing)


def promote(client: Any, name: str, version: str, alias: str, *, dag_run_id: str,
            tags: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Point ``alias`` at ``version`` and record why (the run, the version it replaces).

    Returns ``{"previous_version", "mlflow_run_id"}``: the version ``alias`` named before (None:
    none) and the run that logged the promoted version.
    """
    previous = alias_version(client, name, alias)
    mv = client.get_model_version(name, version)  # fails on a version that does not exist
    client.set_registered_model_alias(name, alias, version)
    tag_version(client, name, version, {**(tags or {}), f"delivery.{alias}_since_dag_run": dag_run_id,
                                        f"delivery.previous_{alias}": previous["version"] if previous else "none"})
    return {"previous_version": previous["version"] if previous else None, "mlflow_run_id": mv.run_id}


def roll_back(client: Any, name: str, alias: str, bad: str, previous: str | None, *, dag_run_id: str,
              tags: Mapping[str, Any]) -> str:
    """Move ``alias`` from the ``bad`` version back to ``previous`` (or remove it when there is none).

    ``tags`` (why, the revert commit) go on the bad version; the restored one names the run.
    Returns what happened to the alias, in words.
    """
    tag_version(client, name, bad, tags)
    if previous:
        client.set_registered_model_alias(name, alias, str(previous))
        tag_version(client, name, previous, {"delivery.restored_by": f"{dag_run_id}: v{bad} rolled back"})
        return f"{alias} moved back to v{previous}"
    client.delete_registered_model_alias(name, alias)
    return f"{alias} removed (no earlier deployed version to go back to)"


def run_lineage(client: Any, run_id: str | None) -> dict[str, str]:
    """Trace ids of a training run (data hash, its DAG run, the HPO study) from its tags; best effort."""
    if not run_id:
        return {}
    try:
        tags = client.get_run(run_id).data.tags
    except Exception:  # noqa: BLE001 - lineage is best effort; the version still deploys
        return {}
    out = {}
    for key, names in LINEAGE_TAGS.items():
        found = next((tags[n] for n in names if tags.get(n)), None)
        if found:
            out[key] = found
    return out
