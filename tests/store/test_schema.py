"""Migrations: from an empty file, from the previous version, and refusing a newer file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from trooper.config import Settings
from trooper.store import open_store
from trooper.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version


def connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def test_an_empty_file_gets_the_whole_schema(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db")
    assert migrate(conn) == 0
    assert schema_version(conn) == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sessions", "turns", "attempts", "events", "sitreps", "responses"} <= tables
    assert migrate(conn) == SCHEMA_VERSION  # idempotent


async def test_upgrade_from_the_first_version_keeps_and_backfills_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = connect(path)
    migrate(conn, MIGRATIONS[:1])
    conn.execute("INSERT INTO sessions VALUES ('s', 'chat', 'local', '', 1.0, 2.0)")
    content = [{"type": "text", "text": "hello"}, {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "42"}]}]
    conn.execute(
        "INSERT INTO turns (session_id, branch, seq, role, content, created_at) VALUES ('s', 0, 0, 'user', ?, 1.5)",
        (json.dumps(content),),
    )
    conn.close()
    store = open_store(Settings(db_path=str(path)))
    (turn,) = await store.transcript("s")
    assert turn["text"] == "hello\n42" and turn["content"] == content
    assert turn["tokens_cached"] == 0, "v3: older turns read no cache"
    assert await store.get_response("resp_1") is None, "v4: a file from before keeps no responses yet"
    await store.close()
    assert schema_version(connect(path)) == SCHEMA_VERSION


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this Trooper"):
        migrate(conn)
