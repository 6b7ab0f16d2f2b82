"""The SQL each queued write runs on PostgreSQL, inside the writer thread's batch transaction:
the same writes as sqlite_writes.py, in PostgreSQL's dialect.

Every write also "touches" its session (``last_activity`` forward, a placeholder row if the
session was never upserted). Turns are upserted on their key (session, branch, seq): replicas
storing the same resent history at the same moment leave each message once, in its place.
"""

from __future__ import annotations

import json
from typing import Any

from trooper.store.records import (
    AttemptRecord,
    EventRecord,
    ResponseRecord,
    SessionRecord,
    SitrepRecord,
    TurnRecord,
    now,
    plain_text,
)
from trooper.store.sqlite_writes import PLACEHOLDER_SOURCE

Connection = Any  # psycopg.Connection


def _touch(conn: Connection, session_id: str, at: float) -> None:
    conn.execute(
        "INSERT INTO sessions (id, source, route, created_at, last_activity) VALUES (%s, %s, 'local', %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET last_activity = GREATEST(sessions.last_activity, excluded.last_activity)",
        (session_id, PLACEHOLDER_SOURCE, at, at),
    )


def upsert_session(conn: Connection, session: SessionRecord) -> None:
    conn.execute(
        "INSERT INTO sessions (id, source, route, title, client, created_at, last_activity, parent_id, opening) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET "
        "  route = CASE WHEN sessions.source = %s THEN excluded.route ELSE sessions.route END, "
        "  source = excluded.source, "
        "  title = CASE WHEN excluded.title != '' THEN excluded.title ELSE sessions.title END, "
        "  client = CASE WHEN excluded.client != '' THEN excluded.client ELSE sessions.client END, "
        "  created_at = LEAST(sessions.created_at, excluded.created_at), "
        "  last_activity = GREATEST(sessions.last_activity, excluded.last_activity), "
        "  parent_id = COALESCE(sessions.parent_id, excluded.parent_id), "
        "  opening = CASE WHEN excluded.opening != '' THEN excluded.opening ELSE sessions.opening END",
        (
            session.id, session.source, session.route, session.title, session.client, session.created_at,
            session.created_at, session.parent_id, session.opening, PLACEHOLDER_SOURCE,
        ),
    )


def set_route(conn: Connection, change: tuple[str, str, float]) -> None:
    session_id, route, at = change
    _touch(conn, session_id, at)
    conn.execute("UPDATE sessions SET route = %s WHERE id = %s", (route, session_id))


#: The turn columns an upsert writes, with the array type each is sent as (``unnest`` turns the
#: arrays back into rows: a whole history is one statement, prepared once, whatever its length).
_TURN_ARRAYS = (
    ("session_id", "text"), ("branch", "int"), ("seq", "int"), ("role", "text"), ("content", "text"), ("text", "text"),
    ("provider", "text"), ("model", "text"), ("tokens_in", "bigint"), ("tokens_out", "bigint"),
    ("latency_ms", "float8"), ("created_at", "float8"), ("tokens_cached", "bigint"), ("tokens_saved", "bigint"),
    ("stop_reason", "text"), ("tier", "text"), ("cost_spent", "float8"), ("cost_avoided", "float8"),
)
_UPSERT_TURNS = (
    f"INSERT INTO turns ({', '.join(name for name, _ in _TURN_ARRAYS)}) "
    f"SELECT * FROM unnest({', '.join(f'%b::{kind}[]' for _, kind in _TURN_ARRAYS)}) "
    "ON CONFLICT (session_id, branch, seq) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name, _ in _TURN_ARRAYS[3:])
)


def add_turns(conn: Connection, turns: list[TurnRecord]) -> None:
    # One statement may not upsert a row twice: the last record of a (session, branch, seq) wins,
    # as it would in separate statements.
    latest_by_key = {(t.session_id, t.branch, t.seq): t for t in turns}
    rows = [
        (
            # PostgreSQL text holds no NUL character (in the JSON it is escaped as \u0000).
            t.session_id, t.branch, t.seq, t.role, json.dumps(t.content, ensure_ascii=False),
            plain_text(t.content).replace("\x00", ""), t.provider, t.model, t.tokens_in, t.tokens_out, t.latency_ms,
            t.created_at, t.tokens_cached, t.tokens_saved, t.stop_reason, t.tier, t.cost_spent, t.cost_avoided,
        )
        for t in latest_by_key.values()
    ]
    conn.execute(_UPSERT_TURNS, [list(column) for column in zip(*rows)])
    latest: dict[str, float] = {}
    for t in turns:
        latest[t.session_id] = max(latest.get(t.session_id, t.created_at), t.created_at)
    for session_id, at in latest.items():
        _touch(conn, session_id, at)


def add_attempt(conn: Connection, a: AttemptRecord) -> None:
    conn.execute(
        "INSERT INTO attempts (session_id, provider, model, status, trigger, outcome, error_class, connect_ms, "
        "first_token_ms, total_ms, tokens_in, tokens_out, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            a.session_id, a.provider, a.model, a.status, a.trigger, a.outcome, a.error_class, a.connect_ms,
            a.first_token_ms, a.total_ms, a.tokens_in, a.tokens_out, a.created_at,
        ),
    )
    _touch(conn, a.session_id, a.created_at)


def add_event(conn: Connection, e: EventRecord) -> None:
    conn.execute(
        "INSERT INTO events (session_id, kind, detail, created_at) VALUES (%s, %s, %s, %s)",
        (e.session_id, e.kind, json.dumps(e.detail, ensure_ascii=False), e.created_at),
    )
    _touch(conn, e.session_id, e.created_at)


def add_sitrep(conn: Connection, s: SitrepRecord) -> None:
    conn.execute(
        "INSERT INTO sitreps (session_id, sitrep, turn_count, created_at) VALUES (%s, %s, %s, %s)",
        (s.session_id, json.dumps(s.sitrep, ensure_ascii=False), s.turn_count, s.created_at),
    )
    _touch(conn, s.session_id, s.created_at)


def add_response(conn: Connection, r: ResponseRecord) -> None:
    conn.execute(
        "INSERT INTO responses (id, session_id, branch, seq, body, created_at) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, branch = excluded.branch, seq = excluded.seq, "
        "body = excluded.body, created_at = excluded.created_at",
        (r.id, r.session_id, r.branch, r.seq, json.dumps(r.body, ensure_ascii=False), r.created_at),
    )
    _touch(conn, r.session_id, r.created_at)


def prune(conn: Connection, older_than_days: float) -> int:
    cutoff = now() - older_than_days * 86400
    stale = "SELECT id FROM sessions WHERE last_activity < %s"
    for table in ("turns", "attempts", "events", "sitreps", "responses"):
        conn.execute(f"DELETE FROM {table} WHERE session_id IN ({stale})", (cutoff,))
    return int(conn.execute("DELETE FROM sessions WHERE last_activity < %s", (cutoff,)).rowcount)
