"""MLflow registry operators: register a model version under an alias, promote a version (move an alias).

Aliases, never the deprecated stages. Alias names live in ``include.mlops.constants``.
"""

from __future__ import annotations

if __name__ == "mlflow":  # imported by file name by Airflow's plugins manager: give the name back
    from include.mlops.plugin_names import restore_library

    restore_library(__name__)

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from include.mlops.constants import CHALLENGER, CHAMPION

__all__ = ["CHALLENGER", "CHAMPION", "MlflowPromoteOperator", "MlflowRegisterModelOperator"]


class MlflowRegisterModelOperator(BaseOperator):
    """Register ``model_uri`` as a new version of ``name``, set ``alias`` on it and tag it.

    Idempotent: when a version of ``name`` already comes from the same run (a retried task), that
    version is reused instead of registering a second one.

    :param model_uri: the logged model (``models:/m-...`` or ``runs:/<run>/model``). (templated)
    :param name: registered model name. (templated)
    :param run_id: the run that logged the model (for idempotence and lineage). (templated)
    :param alias: alias to set on the new version (default ``challenger``); None sets none. (templated)
    :param tags: model-version tags. (templated)
    :param mlflow_conn_id: the MLflow connection.
    """

    template_fields: Sequence[str] = ("model_uri", "name", "run_id", "alias", "tags")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        model_uri: str,
        name: str,
        run_id: str | None = None,
        alias: str | None = "challenger",
        tags: dict[str, Any] | None = None,
        mlflow_conn_id: str = "mlflow_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.model_uri = model_uri
        self.name = name
        self.run_id = run_id
        self.alias = alias
        self.tags = tags or {}
        self.mlflow_conn_id = mlflow_conn_id

    def execute(self, context) -> dict[str, Any]:
        import mlflow
        from mlflow.exceptions import MlflowException

        from delivery.hooks.mlflow import MlflowHook

        hook = MlflowHook(self.mlflow_conn_id)
        client = hook.activate()
        name = str(self.name)
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(name, description="Registered by the delivery project's MLOps DAGs.")
        version = None
        if self.run_id:
            existing = client.search_model_versions(f"name='{name}' and run_id='{self.run_id}'")
            if existing:
                version = str(max(int(v.version) for v in existing))
                self.log.info("Version %s of %r already comes from run %s (retry): reusing it", version, name, self.run_id)
        if version is None:
            mv = mlflow.register_model(str(self.model_uri), name)
            version = str(mv.version)
        for key, value in {**self.tags, "delivery.dag_run_id": context["run_id"]}.items():
            client.set_model_version_tag(name, version, key, str(value))
        if self.alias:
            client.set_registered_model_alias(name, str(self.alias), version)
        self.log.info("Registered %s version %s from %s (alias %s) in %s", name, version, self.model_uri,
                      self.alias, hook.tracking_uri)
        return {"name": name, "version": version, "run_id": self.run_id, "model_uri": str(self.model_uri)}


class MlflowPromoteOperator(BaseOperator):
    """Point ``alias`` (default ``champion``) at version ``version`` of ``name`` and record why.

    When the operator has outlets, each outlet Asset event carries ``extra``: the model name,
    version, previous version, run id, DAG run id, and whatever ``event_extra`` adds (e.g. the
    data hash).

    :param name: registered model name. (templated)
    :param version: the version to promote. (templated)
    :param alias: the alias to move (default ``champion``). (templated)
    :param tags: model-version tags to set on the promoted version. (templated)
    :param event_extra: extra fields for the Asset event. (templated)
    :param mlflow_conn_id: the MLflow connection.
    """

    template_fields: Sequence[str] = ("name", "version", "alias", "tags", "event_extra")
    ui_color = "#abebc6"

    def __init__(
        self,
        *,
        name: str,
        version: str | int,
        alias: str = "champion",
        tags: dict[str, Any] | None = None,
        event_extra: dict[str, Any] | None = None,
        mlflow_conn_id: str = "mlflow_default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.version = version
        self.alias = alias
        self.tags = tags or {}
        self.event_extra = event_extra or {}
        self.mlflow_conn_id = mlflow_conn_id

    def execute(self, context) -> dict[str, Any]:
        from delivery.hooks.mlflow import MlflowHook

        hook = MlflowHook(self.mlflow_conn_id)
        client = hook.get_client()
        name, version, alias = str(self.name), str(self.version), str(self.alias)
        previous = hook.get_alias_version(name, alias)
        mv = client.get_model_version(name, version)
        client.set_registered_model_alias(name, alias, version)
        tags = {**self.tags, f"delivery.{alias}_since_dag_run": context["run_id"],
                "delivery.previous_" + alias: previous["version"] if previous else "none"}
        for key, value in tags.items():
            client.set_model_version_tag(name, version, key, str(value))
        extra = {
            "model_name": name,
            "version": version,
            "alias": alias,
            "previous_version": previous["version"] if previous else None,
            "run_id": mv.run_id,
            "dag_run_id": context["run_id"],
            "tracking_uri": hook.tracking_uri,
            **{k: v for k, v in self.event_extra.items()},
        }
        for outlet in self.outlets or []:
            context["outlet_events"][outlet].extra = extra
        self.log.info("Alias %r of %r moved from %s to version %s", alias, name,
                      previous["version"] if previous else "nothing", version)
        return extra
