"""Optuna hook: the study storage (an RDB URL) from an Airflow connection, with a local default.

Connection ``optuna_default``:

- ``extra.url`` (wins): any SQLAlchemy URL, e.g. ``postgresql+psycopg2://u:p@db:5432/optuna``;
- otherwise a PostgreSQL-style connection (``conn_type`` postgres; host, port, login, password,
  schema = database) becomes ``postgresql+psycopg2://login:password@host:port/schema``.

Without the connection the storage is the SQLite file ``<state>/optuna/optuna.db`` (WAL mode).
optuna is imported inside the methods: DAG files import this module at parse time.
"""

from __future__ import annotations

from urllib.parse import quote

from airflow.sdk import BaseHook


class OptunaHook(BaseHook):
    """Give Optuna workers one shared RDB storage.

    :param optuna_conn_id: Airflow connection id (default ``optuna_default``).
    :param storage_url: overrides the connection.
    """

    conn_name_attr = "optuna_conn_id"
    default_conn_name = "optuna_default"
    conn_type = "optuna"
    hook_name = "Optuna storage"

    def __init__(self, optuna_conn_id: str = default_conn_name, *, storage_url: str | None = None) -> None:
        super().__init__()
        self.optuna_conn_id = optuna_conn_id
        self._storage_url = storage_url

    def get_storage_url(self) -> str:
        """The storage's SQLAlchemy URL (see the module docstring for the resolution order)."""
        if self._storage_url:
            return self._storage_url
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = self.get_connection(self.optuna_conn_id)
        except AirflowNotFoundException:
            from include.common.paths import state_dir

            folder = state_dir() / "optuna"
            folder.mkdir(parents=True, exist_ok=True)
            return f"sqlite:///{folder / 'optuna.db'}"
        extra = conn.extra_dejson or {}
        if extra.get("url"):
            return extra["url"]
        if not conn.host:
            from include.common.errors import InputError

            raise InputError(f"connection {self.optuna_conn_id!r}", "it has neither extra.url nor a host",
                             "set extra {'url': 'postgresql+psycopg2://...'} or host/login/password/schema")
        auth = ""
        if conn.login:
            auth = quote(conn.login, safe="")
            if conn.password:
                auth += ":" + quote(conn.password, safe="")
            auth += "@"
        port = f":{conn.port}" if conn.port else ""
        return f"postgresql+psycopg2://{auth}{conn.host}{port}/{conn.schema or 'postgres'}"

    def get_storage(self):
        """An ``optuna.storages.RDBStorage`` with heartbeats and retry of stale trials."""
        from include.mlops.tuning import storage

        return storage(self.get_storage_url())

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_storage().get_all_studies()
        except Exception as exc:  # noqa: BLE001 - the message is the result
            return False, f"Optuna storage is not reachable: {exc}"
        return True, "Optuna storage answers"
