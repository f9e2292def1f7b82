"""OptunaHook: storage URL from a connection, or the local SQLite default."""

from __future__ import annotations

import json

from delivery.hooks.optuna import OptunaHook


def test_default_is_sqlite_under_state(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_OPTUNA_DEFAULT", raising=False)
    monkeypatch.setenv("DELIVERY_STATE", str(tmp_path))
    assert OptunaHook().get_storage_url() == f"sqlite:///{tmp_path / 'optuna' / 'optuna.db'}"
    ok, message = OptunaHook().test_connection()
    assert ok, message


def test_postgres_connection_builds_a_quoted_url(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPTUNA_DEFAULT", json.dumps({
        "conn_type": "postgres", "host": "db", "port": 5432, "login": "opt", "password": "p@ss/word", "schema": "hpo"}))
    assert OptunaHook().get_storage_url() == "postgresql+psycopg2://opt:p%40ss%2Fword@db:5432/hpo"


def test_extra_url_wins(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OPTUNA_DEFAULT", json.dumps(
        {"conn_type": "optuna", "host": "ignored", "extra": {"url": "sqlite:////tmp/x.db"}}))
    assert OptunaHook().get_storage_url() == "sqlite:////tmp/x.db"
    assert OptunaHook(storage_url="sqlite:////tmp/y.db").get_storage_url() == "sqlite:////tmp/y.db"
