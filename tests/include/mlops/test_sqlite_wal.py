"""SQLite stores in WAL mode: which URLs are SQLite files, and the mode persists in the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from include.mlops.sqlite_wal import enable_wal, sqlite_path


@pytest.mark.parametrize("url, path", [
    ("sqlite:////abs/o.db", Path("/abs/o.db")),
    ("sqlite:///rel/o.db?timeout=5", Path("rel/o.db")),
    ("sqlite:///:memory:", None),
    ("sqlite://", None),
    ("postgresql+psycopg2://u@db/optuna", None),
])
def test_sqlite_path(url, path):
    assert sqlite_path(url) == path


def test_enable_wal_creates_the_file_in_wal_mode(tmp_path):
    db = tmp_path / "new" / "store.db"
    enable_wal(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    enable_wal("postgresql://u@db/x")  # not SQLite: nothing to do
