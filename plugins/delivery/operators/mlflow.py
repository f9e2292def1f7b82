"""MLflow registry operators: register a model version under an alias, promote a version (move an alias).

Aliases, never the deprecated stages. Alias names live in ``include.mlops.constants``; the
registry moves themselves are ``include.mlops.registry`` (these operators add templating, the
connection and the Asset event).
"""

from __future__ import annotations

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

    def __init__(self, *, model_uri: str, name: str, run_id: str | None = None, alias: str | None = CHALLENGER,
                 tags: dict[str, Any] | None = None, mlflow_conn_id: str = "mlflow_default", **kwargs) -> None:
        super().__init__(**kwargs)
        self.model_uri = model_uri
        self.name = name
        self.run_id = run_id
        self.alias = alias
        self.tags = tags or {}
        self.mlflow_conn_id = mlflow_conn_id

    def execute(self, context) -> dict[str, Any]:
        from delivery.hooks.mlflow import MlflowHook
        from include.mlops import registry

        hook = MlflowHook(self.mlflow_conn_id)
        name, alias = str(self.name), str(self.alias) if self.alias else None
        version, reused = registry.register(hook.activate(), name, str(self.model_uri), run_id=self.run_id,
                                            alias=alias, tags={**self.tags, "delivery.dag_run_id": context["run_id"]})
        if reused:
            self.log.info("Version %s of %r already comes from run %s (retry): reusing it", version, name, self.run_id)
        self.log.info("Registered %s version %s from %s (alias %s) in %s", name, version, self.model_uri,
                      self.alias, hook.tracking_uri)
        return {"name": name, "version": version, "run_id": self.run_id, "model_uri": str(self.model_uri)}


class MlflowPromoteOperator(BaseOperator):
    """Point ``alias`` (default ``champion``) at version ``version`` of ``name`` and record why.

    The result, and the ``extra`` of each outlet Asset event, is
    ``include.common.events.ModelPromoted``: model name, version, alias, previous version,
    ``mlflow_run_id``, DAG run id, tracking URI, and the fields ``event_extra`` fills
    (``data_sha256``, ``data_path``).

    :param name: registered model name. (templated)
    :param version: the version to promote. (templated)
    :param alias: the alias to move (default ``champion``). (templated)
    :param tags: model-version tags to set on the promoted version. (templated)
    :param event_extra: more ``ModelPromoted`` fields for the Asset event. (templated)
    :param mlflow_conn_id: the MLflow connection.
    """

    template_fields: Sequence[str] = ("name", "version", "alias", "tags", "event_extra")
    ui_color = "#abebc6"

    def __init__(self, *, name: str, version: str | int, alias: str = CHAMPION, tags: dict[str, Any] | None = None,
                 event_extra: dict[str, Any] | None = None, mlflow_conn_id: str = "mlflow_default", **kwargs) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.version = version
        self.alias = alias
        self.tags = tags or {}
        self.event_extra = event_extra or {}
        self.mlflow_conn_id = mlflow_conn_id

    def execute(self, context) -> dict[str, Any]:
        from delivery.hooks.mlflow import MlflowHook
        from include.common.events import ModelPromoted
        from include.mlops import registry

        hook = MlflowHook(self.mlflow_conn_id)
        name, version, alias = str(self.name), str(self.version), str(self.alias)
        moved = registry.promote(hook.get_client(), name, version, alias, dag_run_id=context["run_id"], tags=self.tags)
        extra = ModelPromoted(model_name=name, version=version, alias=alias, dag_run_id=context["run_id"],
                              tracking_uri=hook.tracking_uri, **moved, **self.event_extra).to_extra()
        for outlet in self.outlets or []:
            context["outlet_events"][outlet].extra = extra
        self.log.info("Alias %r of %r moved from %s to version %s", alias, name,
                      moved["previous_version"] or "nothing", version)
        return extra
