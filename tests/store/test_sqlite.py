"""What only the SQLite store promises: its file is in WAL mode (readers never block the writer),
checkpointed off the writer's commits, and a file's acknowledging commit runs on the event loop
when the writer thread is not committing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

import trooper.store.queued as queued_module
from trooper.config import Settings
from trooper.store import SqliteStore, open_store
from trooper.store.queued import Pending
from trooper.store.records import EventRecord, SessionRecord, TurnRecord
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


async def test_a_flush_is_committed_on_the_event_loop_with_the_writes_the_writer_gathered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hand-over holding a flush, made while writes nobody waits for are gathered, commits those
    # and its own on the event loop's thread, in one transaction: no wake-up of the writer and of
    # the loop after it on the acknowledgement's path.
    store = open_store(Settings(db_path=str(tmp_path / "t.db")))
    transactions: list[tuple[int, int]] = []
    real = SqliteStore._transaction

    def recorded(self: SqliteStore, pending: list[Pending]) -> None:
        transactions.append((threading.get_ident(), len(pending)))
        real(self, pending)

    monkeypatch.setattr(SqliteStore, "_transaction", recorded)
    monkeypatch.setattr(queued_module, "GROUP_COMMIT_SECONDS", 0.5)  # the writer gathers that long
    store.upsert_session(SessionRecord("s", "chat"))
    await asyncio.sleep(0.05)  # handed over, gathered
    store.add_turns([TurnRecord("s", 0, "user", [{"type": "text", "text": "q"}])])
    await store.flush("s")
    assert transactions == [(threading.get_ident(), 2)]
    await asyncio.sleep(0.6)  # the writer's wait ends with nothing left to commit
    assert len(transactions) == 1
    assert [t["text"] for t in await store.transcript("s")] == ["q"]
    await store.close()


async def test_writes_nobody_waits_for_are_committed_within_the_gathering_window(tmp_path: Path) -> None:
    # They wake no thread when handed over; the end of the window hands them to the writer.
    path = tmp_path / "t.db"
    store = open_store(Settings(db_path=str(path)))
    store.add_event(EventRecord("s", "fallback", {"to": "claude"}))
    await asyncio.sleep(queued_module.GROUP_COMMIT_SECONDS * 10)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as reader:
        assert reader.execute("SELECT kind FROM events").fetchall() == [("fallback",)]
    await store.close()


async def test_a_flush_never_makes_the_event_loop_wait_for_another_process_lock(tmp_path: Path) -> None:
    # Another process holds the file's write lock: the flush's commit goes to the writer thread,
    # which waits for the lock, while the event loop goes on serving.
    path = tmp_path / "t.db"
    store = open_store(Settings(db_path=str(path)))
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    store.add_turns([TurnRecord("s", 0, "user", [{"type": "text", "text": "q"}])])
    flushed = asyncio.ensure_future(store.flush("s"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(0.2)
    assert loop.time() - started < 0.5  # the loop was not held by the lock
    assert not flushed.done()
    other.execute("COMMIT")
    await asyncio.wait_for(flushed, 5)
    assert [t["text"] for t in await store.transcript("s")] == ["q"]
    other.close()
    await store.close()
