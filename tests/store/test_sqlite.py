"""What only the SQLite store promises: its file is in WAL mode (readers never block the writer)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trooper.config import Settings
from trooper.store import open_store


async def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = open_store(Settings(db_path=str(tmp_path / "t.db")))
    await store.close()
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
