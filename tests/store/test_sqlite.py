"""What only the SQLite store promises: its file is in WAL mode (readers never block the writer),
checkpointed off the writer's commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from trooper.config import Settings
from trooper.store import open_store
from trooper.store.records import TurnRecord
from trooper.store.sqlite_checkpoint import CHECKPOINT_COMMITS


async def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = open_store(Settings(db_path=str(tmp_path / "t.db")))
    await store.close()
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_the_wal_is_checkpointed_off_the_writers_commits(tmp_path: Path) -> None:
    # The writer's commits leave checkpoints to the store's checkpoint thread: after enough
    # acknowledged turns the database file itself holds them, though their few hundred WAL pages
    # are far below what would make SQLite checkpoint inside a commit.
    path = tmp_path / "t.db"
    store = open_store(Settings(db_path=str(path)))
    empty = path.stat().st_size
    for seq in range(2 * CHECKPOINT_COMMITS):
        store.add_turns([TurnRecord("s", seq, "user", [{"type": "text", "text": f"question {seq}"}])])
        await store.flush("s")
    for _ in range(100):
        if path.stat().st_size > empty:
            break
        await asyncio.sleep(0.05)
    assert path.stat().st_size > empty
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM turns").fetchone()[0] == 2 * CHECKPOINT_COMMITS
