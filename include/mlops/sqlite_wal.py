"""Local SQLite stores (Optuna storage, MLflow tracking) made fit for several writers.

A fresh SQLite file uses a rollback journal and fsyncs several times per commit; on a busy
disk an Optuna trial then costs seconds. Write-ahead logging (persistent in the file) makes a
commit one append, and lets readers and one writer work at the same time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///...`` URL, or None for any other URL (or an in-memory DB)."""
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):].split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path("/" + rest.lstrip("/")) if url.startswith("sqlite:////") else Path(rest)


def enable_wal(url: str) -> None:
    """Switch the SQLite file of ``url`` to WAL mode (creating the file and folder if needed)."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=60)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
