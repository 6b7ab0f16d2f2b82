"""The SQL each queued write runs, inside the writer thread's batch transaction.

Every write also "touches" its session: it moves ``last_activity`` forward and creates a
placeholder session row (source ``unknown``) if the session was never upserted, so no row is
ever unreachable from the session list or missed by pruning.
"""

from __future__ import annotations

import json
import sqlite3

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

#: The source a session has until its SessionRecord arrives.
PLACEHOLDER_SOURCE = "unknown"


def _touch(conn: sqlite3.Connection, session_id: str, at: float) -> None:
    conn.execute(
        "INSERT INTO sessions (id, source, route, created_at, last_activity) VALUES (?, ?, 'local', ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET last_activity = max(last_activity, excluded.last_activity)",
        (session_id, PLACEHOLDER_SOURCE, at, at),
    )


def upsert_session(conn: sqlite3.Connection, session: SessionRecord) -> None:
    conn.execute(
        "INSERT INTO sessions (id, source, route, title, client, created_at, last_activity, parent_id, opening) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET "
        "  route = CASE WHEN sessions.source = ? THEN excluded.route ELSE sessions.route END, "
        "  source = excluded.source, "
        "  title = CASE WHEN excluded.title != '' THEN excluded.title ELSE sessions.title END, "
        "  client = CASE WHEN excluded.client != '' THEN excluded.client ELSE sessions.client END, "
        "  created_at = min(sessions.created_at, excluded.created_at), "
        "  last_activity = max(sessions.last_activity, excluded.last_activity), "
        "  parent_id = coalesce(sessions.parent_id, excluded.parent_id), "
        "  opening = CASE WHEN excluded.opening != '' THEN excluded.opening ELSE sessions.opening END",
        (
            session.id, session.source, session.route, session.title, session.client, session.created_at,
            session.created_at, session.parent_id, session.opening, PLACEHOLDER_SOURCE,
        ),
    )


def set_route(conn: sqlite3.Connection, change: tuple[str, str, float]) -> None:
    session_id, route, at = change
    _touch(conn, session_id, at)
    conn.execute("UPDATE sessions SET route = ? WHERE id = ?", (route, session_id))


def add_turns(conn: sqlite3.Connection, turns: list[TurnRecord]) -> None:
    conn.executemany(
        "INSERT INTO turns (session_id, branch, seq, role, content, text, provider, model, tokens_in, tokens_out, "
        "latency_ms, created_at, tokens_cached, tokens_saved, stop_reason, tier, cost_spent, cost_avoided) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(session_id, branch, seq) DO UPDATE SET role = excluded.role, content = excluded.content, "
        "text = excluded.text, provider = excluded.provider, model = excluded.model, tokens_in = excluded.tokens_in, "
        "tokens_out = excluded.tokens_out, latency_ms = excluded.latency_ms, created_at = excluded.created_at, "
        "tokens_cached = excluded.tokens_cached, tokens_saved = excluded.tokens_saved, stop_reason = excluded.stop_reason, "
        "tier = excluded.tier, cost_spent = excluded.cost_spent, cost_avoided = excluded.cost_avoided",
        [
            (
                t.session_id, t.branch, t.seq, t.role, json.dumps(t.content, ensure_ascii=False), plain_text(t.content),
                t.provider, t.model, t.tokens_in, t.tokens_out, t.latency_ms, t.created_at, t.tokens_cached, t.tokens_saved,
                t.stop_reason, t.tier, t.cost_spent, t.cost_avoided,
            )
            for t in turns
        ],
    )
    latest: dict[str, float] = {}
    for t in turns:
        latest[t.session_id] = max(latest.get(t.session_id, t.created_at), t.created_at)
    for session_id, at in latest.items():
        _touch(conn, session_id, at)


def add_attempt(conn: sqlite3.Connection, a: AttemptRecord) -> None:
    conn.execute(
        "INSERT INTO attempts (session_id, provider, model, status, trigger, outcome, error_class, connect_ms, "
        "first_token_ms, total_ms, tokens_in, tokens_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a.session_id, a.provider, a.model, a.status, a.trigger, a.outcome, a.error_class, a.connect_ms,
            a.first_token_ms, a.total_ms, a.tokens_in, a.tokens_out, a.created_at,
        ),
    )
    _touch(conn, a.session_id, a.created_at)


def add_event(conn: sqlite3.Connection, e: EventRecord) -> None:
    conn.execute(
        "INSERT INTO events (session_id, kind, detail, created_at) VALUES (?, ?, ?, ?)",
        (e.session_id, e.kind, json.dumps(e.detail, ensure_ascii=False), e.created_at),
    )
    _touch(conn, e.session_id, e.created_at)


def add_sitrep(conn: sqlite3.Connection, s: SitrepRecord) -> None:
    conn.execute(
        "INSERT INTO sitreps (session_id, sitrep, turn_count, created_at) VALUES (?, ?, ?, ?)",
        (s.session_id, json.dumps(s.sitrep, ensure_ascii=False), s.turn_count, s.created_at),
    )
    _touch(conn, s.session_id, s.created_at)


def add_response(conn: sqlite3.Connection, r: ResponseRecord) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO responses (id, session_id, branch, seq, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (r.id, r.session_id, r.branch, r.seq, r.body, r.created_at),
    )
    _touch(conn, r.session_id, r.created_at)


def prune(conn: sqlite3.Connection, older_than_days: float) -> int:
    cutoff = now() - older_than_days * 86400
    stale = "SELECT id FROM sessions WHERE last_activity < ?"
    for table in ("turns", "attempts", "events", "sitreps", "responses"):
        conn.execute(f"DELETE FROM {table} WHERE session_id IN ({stale})", (cutoff,))
    return conn.execute("DELETE FROM sessions WHERE last_activity < ?", (cutoff,)).rowcount
