"""MLflow hook: the tracking/registry URI from an Airflow connection, with a local default.

Connection ``mlflow_default`` (type ``mlflow``), any of:

- ``extra.tracking_uri`` (wins): ``http://mlflow:5000``, ``postgresql://...``, ``sqlite:////abs/mlflow.db``;
- otherwise ``host`` (+ ``port``; ``extra.scheme`` default ``http``) of an MLflow server;
- ``login`` / ``password``: basic auth for the server (``MLFLOW_TRACKING_USERNAME/PASSWORD``);
- ``extra.registry_uri`` when the registry lives elsewhere;
- ``extra.artifact_location``: the root under which new experiments keep their artifacts.

When ``mlflow_default`` does not exist the hook uses the embedded default (and logs it): a SQLite
store ``<state>/mlflow/mlflow.db`` and the artifact folder ``<state>/mlflow/artifacts`` (explicit,
because MLflow would otherwise write ``./mlruns`` in the current directory). Any other connection
id that does not exist is an error naming it: a named store that is missing must never turn
quietly into the embedded one (a typo, or an unrendered ``"{{ params.mlflow_conn_id }}"``, would
otherwise read and write the wrong registry).

Example (environment)::

    AIRFLOW_CONN_MLFLOW_DEFAULT='{"conn_type": "mlflow", "host": "mlflow", "port": 5000}'

mlflow is imported inside the methods: DAG files import this module at parse time.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook


class MlflowHook(BaseHook):
    """Talk to an MLflow tracking server / model registry.

    :param mlflow_conn_id: Airflow connection id (default ``mlflow_default``).
    :param tracking_uri: overrides the connection's tracking URI.
    :param registry_uri: overrides the connection's registry URI.
    :param artifact_location: overrides the artifact root for new experiments.
    """

    conn_name_attr = "mlflow_conn_id"
    default_conn_name = "mlflow_default"
    conn_type = "mlflow"
    hook_name = "MLflow"

    def __init__(
        self,
        mlflow_conn_id: str = default_conn_name,
        *,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        artifact_location: str | None = None,
    ) -> None:
        super().__init__()
        self.mlflow_conn_id = mlflow_conn_id
        self._tracking_uri = tracking_uri
        self._registry_uri = registry_uri
        self._artifact_location = artifact_location

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema"],
            "relabeling": {"host": "MLflow server host", "login": "Username", "password": "Password"},
            "placeholders": {"extra": '{"tracking_uri": "http://mlflow:5000", "artifact_location": "s3://bucket/mlflow"}'},
        }

    # ------------------------------------------------------------------ configuration

    def _connection(self):
        """The Airflow connection, or None when ``mlflow_default`` is missing; any other missing id raises."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            return self.get_connection(self.mlflow_conn_id)
        except AirflowNotFoundException as exc:
            if self.mlflow_conn_id == self.default_conn_name:
                return None
            from include.common.errors import InputError

            conn_id = str(self.mlflow_conn_id)
            hint = (" (it is an unrendered Jinja template: the operator must list mlflow_conn_id in its "
                    "template_fields)" if "{{" in conn_id or "{%" in conn_id else "")
            raise InputError(
                f"MLflow connection {conn_id!r}",
                f"it does not exist{hint}; only {self.default_conn_name!r} falls back to the embedded store",
                f"create connection {conn_id!r} (type mlflow, extra.tracking_uri or host/port; in the UI or as "
                f"AIRFLOW_CONN_{conn_id.upper()}), or use mlflow_conn_id={self.default_conn_name!r}",
            ) from exc

    @cached_property
    def config(self) -> dict[str, Any]:
        """Resolved settings: tracking_uri, registry_uri, artifact_location, auth, and source."""
        conn = self._connection()
        cfg: dict[str, Any] = {"username": None, "password": None}
        if conn is None:
            from include.common.paths import state_dir

            root = state_dir() / "mlflow"
            root.mkdir(parents=True, exist_ok=True)
            self.log.info("No connection %r: MLflow uses the embedded store %s", self.mlflow_conn_id,
                          root / "mlflow.db")
            cfg.update(
                tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
                registry_uri=None,
                artifact_location=(root / "artifacts").as_uri(),
                source=f"embedded default (no connection {self.mlflow_conn_id!r})",
            )
        else:
            extra = conn.extra_dejson or {}
            uri = extra.get("tracking_uri")
            if not uri and conn.host:
                host = conn.host
                if "://" not in host:
                    host = f"{extra.get('scheme', 'http')}://{host}"
                uri = f"{host}:{conn.port}" if conn.port else host
            if not uri:
                from include.common.errors import InputError

                raise InputError(
                    f"connection {self.mlflow_conn_id!r}",
                    "it has neither extra.tracking_uri nor a host",
                    "set extra {'tracking_uri': ...} or the MLflow server's host and port",
                )
            cfg.update(
                tracking_uri=uri,
                registry_uri=extra.get("registry_uri"),
                artifact_location=extra.get("artifact_location"),
                username=conn.login or None,
                password=conn.password or None,
                source=f"connection {self.mlflow_conn_id!r}",
            )
            if uri.startswith("sqlite:///") and not cfg["artifact_location"]:
                db = Path(uri[len("sqlite:///"):])
                cfg["artifact_location"] = (db.parent / "artifacts").resolve().as_uri()
        if self._tracking_uri:
            cfg["tracking_uri"] = self._tracking_uri
        if self._registry_uri:
            cfg["registry_uri"] = self._registry_uri
        if self._artifact_location:
            cfg["artifact_location"] = self._artifact_location
        return cfg

    @property
    def tracking_uri(self) -> str:
        return self.config["tracking_uri"]

    # ------------------------------------------------------------------ clients

    def activate(self):
        """Point the ``mlflow`` module (fluent API) at this store and return an ``MlflowClient``."""
        import mlflow

        from include.mlops.sqlite_wal import enable_wal

        cfg = self.config
        enable_wal(cfg["tracking_uri"])
        if cfg.get("username"):
            os.environ["MLFLOW_TRACKING_USERNAME"] = cfg["username"]
        if cfg.get("password"):
            os.environ["MLFLOW_TRACKING_PASSWORD"] = cfg["password"]
        mlflow.set_tracking_uri(cfg["tracking_uri"])
        if cfg.get("registry_uri"):
            mlflow.set_registry_uri(cfg["registry_uri"])
        return self.get_client()

    def get_client(self):
        """An ``MlflowClient`` bound to this store (new each call: clients are cheap, state is not)."""
        from mlflow.tracking import MlflowClient

        from include.mlops.sqlite_wal import enable_wal

        enable_wal(self.config["tracking_uri"])
        return MlflowClient(tracking_uri=self.config["tracking_uri"], registry_uri=self.config.get("registry_uri"))

    def ensure_experiment(self, name: str) -> str:
        """The id of experiment ``name``, created (with the configured artifact location) if missing."""
        client = self.get_client()
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        location = self.config.get("artifact_location")
        if location:
            location = location.rstrip("/") + "/" + name
        try:
            return client.create_experiment(name, artifact_location=location)
        except Exception:  # created meanwhile by a parallel task
            exp = client.get_experiment_by_name(name)
            if exp is None:
                raise
            return exp.experiment_id

    # ------------------------------------------------------------------ registry helpers

    def get_alias_version(self, name: str, alias: str) -> dict[str, Any] | None:
        """The model version that ``alias`` points to, as a dict, or None (no model / no alias).

        This is the call a "champion changed" sensor polls: compare ``version`` between pokes.
        """
        from include.mlops.registry import alias_version

        return alias_version(self.get_client(), name, alias)

    def test_connection(self) -> tuple[bool, str]:
        """(ok, message): can the tracking store be listed?"""
        try:
            self.get_client().search_experiments(max_results=1)
        except Exception as exc:  # noqa: BLE001 - the message is the result
            return False, f"MLflow at {self.tracking_uri} is not reachable: {exc}"
        return True, f"MLflow at {self.tracking_uri} answers ({self.config['source']})"
