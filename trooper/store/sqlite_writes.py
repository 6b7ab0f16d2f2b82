"""The SQL each queued write runs, inside the writer thread's batch transaction.

A batch's writes go into a ``Batch``: the session rows (``upsert_session``, ``set_route``) run at
once, in order; every other row waits for the end of the batch, and then each table's rows go in
one ``executemany``, like the PostgreSQL writer's one statement per group. Every write also
"touches" its session: it moves ``last_activity`` forward and creates a placeholder session row
(source ``unknown``) if the session was never upserted, so no row is ever unreachable from the
session list or missed by pruning; the touches of a batch run once per session, at its latest
write's time (a turn wrote three or four: its question, its attempt, its answer, its SITREP).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from trooper.store.base import SESSION_ROWS
from trooper.store.records import (
    AttemptRecord,
    CompactionRecord,
    EventRecord,
    ResponseRecord,
    SessionRecord,
    SitrepRecord,
    ThreadRecord,
    TurnRecord,
    now,
    plain_text,
)

#: The source a session has until its SessionRecord arrives.
PLACEHOLDER_SOURCE = "unknown"

_TOUCH = (
    "INSERT INTO sessions (id, source, route, created_at, last_activity) VALUES (?, ?, 'local', ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET last_activity = max(last_activity, excluded.last_activity)"
)
_TURN = (
    "INSERT INTO turns (session_id, branch, seq, role, content, text, provider, model, tokens_in, tokens_out, "
    "latency_ms, created_at, tokens_cached, tokens_saved, stop_reason, tier, cost_spent, cost_avoided) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(session_id, branch, seq) DO UPDATE SET role = excluded.role, content = excluded.content, "
    "text = excluded.text, provider = excluded.provider, model = excluded.model, tokens_in = excluded.tokens_in, "
    "tokens_out = excluded.tokens_out, latency_ms = excluded.latency_ms, created_at = excluded.created_at, "
    "tokens_cached = excluded.tokens_cached, tokens_saved = excluded.tokens_saved, stop_reason = excluded.stop_reason, "
    "tier = excluded.tier, cost_spent = excluded.cost_spent, cost_avoided = excluded.cost_avoided"
)
_ATTEMPT = (
    "INSERT INTO attempts (session_id, provider, model, status, trigger, outcome, error_class, connect_ms, "
    "first_token_ms, total_ms, tokens_in, tokens_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT = "INSERT INTO events (session_id, kind, detail, created_at) VALUES (?, ?, ?, ?)"
_SITREP = "INSERT INTO sitreps (session_id, sitrep, turn_count, created_at) VALUES (?, ?, ?, ?)"
_RESPONSE = "INSERT OR REPLACE INTO responses (id, session_id, branch, seq, body, created_at) VALUES (?, ?, ?, ?, ?, ?)"
_THREAD = "INSERT OR REPLACE INTO message_threads (id, session_id, branch, seq, created_at) VALUES (?, ?, ?, ?, ?)"
_COMPACTION = "INSERT OR REPLACE INTO compactions (key, session_id, created_at) VALUES (?, ?, ?)"


class Batch:
    """One transaction's writes: session rows run at once, the other rows by table in ``finish``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        #: Each session written to: its latest time (for ``last_activity``).
        self.touched: dict[str, float] = {}
        #: Each table's rows (its insert statement → their parameters), in the order written.
        self.rows: dict[str, list[tuple[Any, ...]]] = {}

    def touch(self, session_id: str, at: float) -> None:
        self.touched[session_id] = max(at, self.touched.get(session_id, at))

    def add(self, statement: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(statement, []).append(row)

    def finish(self) -> None:
        """Write the rows gathered; the touches first, so a session's row exists before its rows."""
        if self.touched:
            self.conn.executemany(_TOUCH, [(sid, PLACEHOLDER_SOURCE, at, at) for sid, at in self.touched.items()])
        for statement, rows in self.rows.items():
            self.conn.executemany(statement, rows)


def upsert_session(batch: Batch, session: SessionRecord) -> None:
    batch.conn.execute(
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


def set_route(batch: Batch, change: tuple[str, str, float]) -> None:
    session_id, route, at = change
    batch.conn.execute(
        "INSERT INTO sessions (id, source, route, created_at, last_activity) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET route = excluded.route, last_activity = max(last_activity, excluded.last_activity)",
        (session_id, PLACEHOLDER_SOURCE, route, at, at),
    )


def add_turns(batch: Batch, turns: list[TurnRecord]) -> None:
    for t in turns:
        batch.add(_TURN, (
            t.session_id, t.branch, t.seq, t.role, json.dumps(t.content, ensure_ascii=False), plain_text(t.content),
            t.provider, t.model, t.tokens_in, t.tokens_out, t.latency_ms, t.created_at, t.tokens_cached, t.tokens_saved,
            t.stop_reason, t.tier, t.cost_spent, t.cost_avoided,
        ))
        batch.touch(t.session_id, t.created_at)


def add_attempt(batch: Batch, a: AttemptRecord) -> None:
    batch.add(_ATTEMPT, (
        a.session_id, a.provider, a.model, a.status, a.trigger, a.outcome, a.error_class, a.connect_ms,
        a.first_token_ms, a.total_ms, a.tokens_in, a.tokens_out, a.created_at,
    ))
    batch.touch(a.session_id, a.created_at)


def add_event(batch: Batch, e: EventRecord) -> None:
    batch.add(_EVENT, (e.session_id, e.kind, json.dumps(e.detail, ensure_ascii=False), e.created_at))
    batch.touch(e.session_id, e.created_at)


def add_sitrep(batch: Batch, s: SitrepRecord) -> None:
    batch.add(_SITREP, (s.session_id, json.dumps(s.sitrep, ensure_ascii=False), s.turn_count, s.created_at))
    batch.touch(s.session_id, s.created_at)


def add_response(batch: Batch, r: ResponseRecord) -> None:
    batch.add(_RESPONSE, (r.id, r.session_id, r.branch, r.seq, r.body, r.created_at))
    batch.touch(r.session_id, r.created_at)


def add_thread(batch: Batch, t: ThreadRecord) -> None:
    batch.add(_THREAD, (t.message_id, t.session_id, t.branch, t.seq, t.created_at))
    batch.touch(t.session_id, t.created_at)


def add_compaction(batch: Batch, c: CompactionRecord) -> None:
    batch.add(_COMPACTION, (c.key, c.session_id, c.created_at))
    batch.touch(c.session_id, c.created_at)


def prune(conn: sqlite3.Connection, older_than_days: float) -> int:
    cutoff = now() - older_than_days * 86400
    stale = "SELECT id FROM sessions WHERE last_activity < ?"
    for table in SESSION_ROWS:
        conn.execute(f"DELETE FROM {table} WHERE session_id IN ({stale})", (cutoff,))
    return conn.execute("DELETE FROM sessions WHERE last_activity < ?", (cutoff,)).rowcount
