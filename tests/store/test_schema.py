"""Migrations: from an empty store, from the previous version, refusing a newer one; the PostgreSQL
schema is the SQLite one, version for version."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from trooper.config import Settings
from trooper.store import open_store, postgres_schema
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
    conn.execute(
        "INSERT INTO turns (session_id, branch, seq, role, content, provider, tokens_in, tokens_out, created_at) "
        "VALUES ('s', 0, 1, 'assistant', '[]', 'ollama', 10, 5, 1.6)"
    )
    conn.execute(
        "INSERT INTO turns (session_id, branch, seq, role, content, provider, created_at) "
        "VALUES ('s', 0, 2, 'assistant', '[]', 'claude', 1.7)"
    )
    conn.close()
    store = open_store(Settings(db_path=str(path)))
    turn, answer, cloud_answer = await store.transcript("s")
    assert turn["text"] == "hello\n42" and turn["content"] == content
    assert turn["tokens_cached"] == 0, "v3: older turns read no cache"
    # v4: whether a cloud was configured for an older local answer is unknown: no saving is claimed.
    assert answer["tokens_saved"] == 0 and (await store.get_session("s"))["tokens_saved"] == 0
    assert answer["stop_reason"] == "", "v5: why an older answer ended was not recorded"
    assert (await store.get_session("s"))["client"] == "", "v6: older sessions name no client"
    assert (turn["tier"], answer["tier"], cloud_answer["tier"]) == ("", "local", "cloud"), "v7: the tier, by the names of then"
    assert await store.get_response("resp_1") is None, "v9: a file from before keeps no responses yet"
    await store.close()
    assert schema_version(connect(path)) == SCHEMA_VERSION


async def test_upgrade_from_the_previous_version_keeps_sessions_as_roots(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    conn = connect(path)
    migrate(conn, MIGRATIONS[:7])  # before v8
    conn.execute("INSERT INTO sessions (id, source, route, title, created_at, last_activity) "
                 "VALUES ('s', 'anthropic', 'cloud', 'a title', 1.0, 2.0)")
    conn.execute(
        "INSERT INTO turns (session_id, branch, seq, role, content, text, created_at) VALUES ('s', 0, 0, 'user', ?, 'hi', 1.5)",
        (json.dumps([{"type": "text", "text": "hi"}]),),
    )
    conn.close()
    store = open_store(Settings(db_path=str(path)))
    (session,) = await store.list_sessions()
    assert session["parent_id"] is None, "v8: every older session is a root"
    assert (session["id"], session["source"], session["route"], session["title"], session["turn_count"]) == (
        "s", "anthropic", "cloud", "a title", 1)
    stored = await store.get_session("s")
    assert stored is not None and stored["opening"] == "", "v8: its opening is learnt from its next turn"
    assert (await store.table("sessions"))["parent_id"] == [None]
    await store.close()
    assert schema_version(connect(path)) == SCHEMA_VERSION


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "t.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer than this Trooper"):
        migrate(conn)


# ------------------------------------------------------------ both stores: one schema history

def raw_connection(db: str) -> Any:
    """A plain connection of the store's own kind, committing each statement."""
    return psycopg.connect(db, autocommit=True) if db.startswith("postgresql:") else sqlite3.connect(db, isolation_level=None)


def migrations_of(db: str) -> tuple[list[Any], Callable[..., int], Callable[[Any], int]]:
    if db.startswith("postgresql:"):
        return postgres_schema.MIGRATIONS, postgres_schema.migrate, postgres_schema.schema_version
    return MIGRATIONS, migrate, schema_version


async def test_a_store_at_the_previous_version_upgrades_in_place(durable_db: str) -> None:
    migrations, run_migrations, version_of = migrations_of(durable_db)
    conn = raw_connection(durable_db)
    run_migrations(conn, migrations[:-1])
    conn.execute("INSERT INTO sessions (id, source, route, title, client, created_at, last_activity) "
                 "VALUES ('s', 'anthropic', 'cloud', 'a title', 'Claude Code', 1.0, 2.0)")
    conn.execute("INSERT INTO turns (session_id, branch, seq, role, content, text, created_at) "
                 """VALUES ('s', 0, 0, 'user', '[{"type": "text", "text": "hi"}]', 'hi', 1.5)""")
    conn.execute("INSERT INTO turns (session_id, branch, seq, role, content, text, provider, tokens_out, tier, created_at) "
                 """VALUES ('s', 0, 1, 'assistant', '[{"type": "text", "text": "yo"}]', 'yo', 'claude', 7, 'cloud', 1.6)""")
    conn.close()
    store = open_store(Settings(db_path=durable_db))
    question, answer = await store.transcript("s")
    assert (question["content"], answer["tokens_out"], answer["tier"]) == ([{"type": "text", "text": "hi"}], 7, "cloud")
    assert (answer["cost_spent"], answer["cost_avoided"]) == (0.0, 0.0), "the last migration: older turns' dollars not claimed"
    session = await store.get_session("s")
    assert session is not None and (session["title"], session["client"], session["turn_count"]) == ("a title", "Claude Code", 2)
    await store.close()
    conn = raw_connection(durable_db)
    assert version_of(conn) == SCHEMA_VERSION
    conn.close()


def test_postgresql_has_the_sqlite_schema_column_for_column(postgres_url: str, tmp_path: Path) -> None:
    assert postgres_schema.SCHEMA_VERSION == SCHEMA_VERSION, "a migration added to one store is added to the other"
    lite = connect(tmp_path / "t.db")
    migrate(lite)
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        postgres_schema.migrate(pg)
        for table in ("sessions", "turns", "attempts", "events", "sitreps", "responses"):
            in_sqlite = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
            in_postgres = [name for (name,) in pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name != 'rowid' "
                "ORDER BY ordinal_position", (table,))]
            assert in_postgres == in_sqlite, table


def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    """Each replica runs the migrations when it starts; the advisory lock makes them take turns."""
    def start() -> int:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            return postgres_schema.migrate(conn)

    with ThreadPoolExecutor(4) as pool:
        found = sorted(pool.map(lambda _: start(), range(4)))
    assert found == [0, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION], "one replica migrated, the others found it done"


def test_a_newer_database_is_refused(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        postgres_schema.migrate(conn)
        conn.execute("UPDATE trooper_schema SET version = %s", (SCHEMA_VERSION + 1,))
        with pytest.raises(RuntimeError, match="newer than this Trooper"):
            postgres_schema.migrate(conn)


async def test_a_postgresql_database_of_the_current_session_schema_gains_the_replica_tables(postgres_url: str) -> None:
    """The replicas' own tables (shared provider health, heartbeats) are versioned apart from the
    session schema SQLite mirrors: a database Trooper wrote before they existed gets them."""
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        postgres_schema.migrate(conn)
        assert postgres_schema.schema_version(conn, postgres_schema.REPLICA_SCHEMA_TABLE) == 0
    store = open_store(Settings(db_path=postgres_url))
    await store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert postgres_schema.schema_version(conn) == SCHEMA_VERSION
        replica_version = postgres_schema.schema_version(conn, postgres_schema.REPLICA_SCHEMA_TABLE)
        assert replica_version == len(postgres_schema.REPLICA_MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM provider_health").fetchone() == (0,)
