"""What each queued write sends to PostgreSQL, inside the writer thread's group: the same writes as
sqlite_writes.py, in PostgreSQL's dialect, gathered into as few statements as a group allows.

Each write function adds its record to a ``Group`` (the "connection" ``QueuedStore`` hands the
writes). The session rows' upserts and route changes stay statements of their own, run in the
order they were queued; every other record (turns, attempts, events, SITREPs, kept responses, the
sessions' ``last_activity``) becomes a row of one JSON document that one prepared statement,
``group_statement``, inserts, and the commit's notices go with it. The document is ``jsonb``,
parsed once: as ``json`` each part and row parsed it again (a 24-turn history, 12 questions of 2.8 kB, took
3.8 ms to insert, 2.0 ms as ``jsonb``; the values stored are the same). A turn's writes are thus one
statement, its own transaction, one round trip. Measured (bench/README.md): a statement each
between ``BEGIN`` and ``COMMIT`` cost the writer 1.1–1.3 ms of CPU a turn and the acknowledging
flush 2.0 ms p50; one statement, 0.4–0.5 ms and 1.15 ms.

Every write also "touches" its session (``last_activity`` forward, a placeholder row if the
session was never upserted). Turns are upserted on their key (session, branch, seq): replicas
storing the same resent history at the same moment leave each message once, in its place.
"""

from __future__ import annotations

import functools
import json
import math
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
from trooper.store.sqlite_writes import PLACEHOLDER_SOURCE

Connection = Any  # psycopg.Connection

#: The columns each kind of row of a group's document fills (``jsonb_populate_recordset`` over the
#: table's row type reads them by name; the others keep their defaults).
_TURN_COLUMNS = (
    "session_id", "branch", "seq", "role", "content", "text", "provider", "model", "tokens_in", "tokens_out",
    "latency_ms", "created_at", "tokens_cached", "tokens_saved", "stop_reason", "tier", "cost_spent", "cost_avoided",
)
_ATTEMPT_COLUMNS = (
    "session_id", "provider", "model", "status", "trigger", "outcome", "error_class", "connect_ms", "first_token_ms",
    "total_ms", "tokens_in", "tokens_out", "created_at",
)
_EVENT_COLUMNS = ("session_id", "kind", "detail", "created_at")
_SITREP_COLUMNS = ("session_id", "sitrep", "turn_count", "created_at")
_RESPONSE_COLUMNS = ("id", "session_id", "branch", "seq", "body", "created_at")
_THREAD_COLUMNS = ("id", "session_id", "branch", "seq", "created_at")
_COMPACTION_COLUMNS = ("key", "session_id", "created_at")


def _insert(table: str, key: str, columns: tuple[str, ...], on_conflict: str = "") -> str:
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM doc, jsonb_populate_recordset(NULL::{table}, doc.j -> '{key}') "
        + on_conflict
    )


def _update_all(columns: tuple[str, ...]) -> str:
    return ", ".join(f"{name} = excluded.{name}" for name in columns)


#: The data-modifying parts of a group's statement, each inserting one kind of row of its document.
_PARTS = {
    "touched": (
        "INSERT INTO sessions (id, source, route, created_at, last_activity) "
        "SELECT id, %(placeholder)s, 'local', at, at FROM doc, jsonb_to_recordset(doc.j -> 'touched') AS r(id text, at float8) "
        "ON CONFLICT (id) DO UPDATE SET last_activity = GREATEST(sessions.last_activity, excluded.last_activity)"
    ),
    "turns": _insert(
        "turns", "turns", _TURN_COLUMNS, "ON CONFLICT (session_id, branch, seq) DO UPDATE SET " + _update_all(_TURN_COLUMNS[3:])
    ),
    "attempts": _insert("attempts", "attempts", _ATTEMPT_COLUMNS),
    "events": _insert("events", "events", _EVENT_COLUMNS),
    "sitreps": _insert("sitreps", "sitreps", _SITREP_COLUMNS),
    "responses": _insert(
        "responses", "responses", _RESPONSE_COLUMNS, "ON CONFLICT (id) DO UPDATE SET " + _update_all(_RESPONSE_COLUMNS[1:])
    ),
    "threads": _insert(
        "message_threads", "threads", _THREAD_COLUMNS, "ON CONFLICT (id) DO UPDATE SET " + _update_all(_THREAD_COLUMNS[1:])
    ),
    "compactions": _insert(
        "compactions", "compactions", _COMPACTION_COLUMNS, "ON CONFLICT (key) DO UPDATE SET " + _update_all(_COMPACTION_COLUMNS[1:])
    ),
}


@functools.cache
def group_statement(kinds: tuple[str, ...]) -> str:
    """A group's rows of these kinds in one statement (so one transaction: no BEGIN or COMMIT to
    send), the notices sent on commit. One text per combination of kinds, each prepared once:
    a part for rows a group does not have would still cost the database its execution."""
    parts = "".join(f", new_{kind} AS ({_PARTS[kind]})" for kind in kinds)
    return (
        f"WITH doc AS (SELECT %(document)s::jsonb AS j){parts} "
        "SELECT pg_notify(%(channel)s, notice) FROM doc, jsonb_array_elements_text(doc.j -> 'notices') AS notice"
    )


def _number(value: float | None) -> float | str | None:
    # JSON has no NaN or infinity; PostgreSQL reads them from a string ('NaN', 'Infinity').
    return value if value is None or math.isfinite(value) else str(value).replace("inf", "Infinity").replace("nan", "NaN")


class Group:
    """One group of queued writes, as what it sends: ``statements`` (with their parameters) to run
    in order, then every other row in one ``statement``."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        #: Each session written to: its latest time (for ``last_activity``).
        self.touched: dict[str, float] = {}
        #: One statement may not upsert a row twice: the last record of a key wins, as it would
        #: in separate statements (a dict keeps the first one's place).
        self.turns: dict[tuple[str, int, int], dict[str, Any]] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.compactions: dict[str, dict[str, Any]] = {}
        self.attempts: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.sitreps: list[dict[str, Any]] = []

    def touch(self, session_id: str, at: float) -> None:
        self.touched[session_id] = max(at, self.touched.get(session_id, at))

    def statement(self, channel: str, notices: list[str]) -> tuple[str, dict[str, Any]]:
        """The statement inserting the group's rows and sending ``notices`` on ``channel``, and its
        parameters."""
        rows = {
            "touched": [{"id": session_id, "at": at} for session_id, at in self.touched.items()],
            "turns": list(self.turns.values()),
            "attempts": self.attempts,
            "events": self.events,
            "sitreps": self.sitreps,
            "responses": list(self.responses.values()),
            "threads": list(self.threads.values()),
            "compactions": list(self.compactions.values()),
        }
        present = {kind: kind_rows for kind, kind_rows in rows.items() if kind_rows}
        document = json.dumps({**present, "notices": notices}, ensure_ascii=False)
        return group_statement(tuple(present)), {"document": document, "placeholder": PLACEHOLDER_SOURCE, "channel": channel}


def upsert_session(group: Group, session: SessionRecord) -> None:
    group.statements.append((
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
    ))


def set_route(group: Group, change: tuple[str, str, float]) -> None:
    session_id, route, at = change
    group.statements.append((
        "INSERT INTO sessions (id, source, route, created_at, last_activity) VALUES (%s, %s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET route = excluded.route, "
        "last_activity = GREATEST(sessions.last_activity, excluded.last_activity)",
        (session_id, PLACEHOLDER_SOURCE, route, at, at),
    ))


def add_turns(group: Group, turns: list[TurnRecord]) -> None:
    for t in turns:
        group.turns[(t.session_id, t.branch, t.seq)] = {
            "session_id": t.session_id, "branch": t.branch, "seq": t.seq, "role": t.role,
            # PostgreSQL text holds no NUL character (in the JSON it is escaped as \u0000).
            "content": json.dumps(t.content, ensure_ascii=False), "text": plain_text(t.content).replace("\x00", ""),
            "provider": t.provider, "model": t.model, "tokens_in": t.tokens_in, "tokens_out": t.tokens_out,
            "latency_ms": _number(t.latency_ms), "created_at": t.created_at, "tokens_cached": t.tokens_cached,
            "tokens_saved": t.tokens_saved, "stop_reason": t.stop_reason, "tier": t.tier,
            "cost_spent": _number(t.cost_spent), "cost_avoided": _number(t.cost_avoided),
        }
        group.touch(t.session_id, t.created_at)


def add_attempt(group: Group, a: AttemptRecord) -> None:
    group.attempts.append({
        "session_id": a.session_id, "provider": a.provider, "model": a.model, "status": a.status, "trigger": a.trigger,
        "outcome": a.outcome, "error_class": a.error_class, "connect_ms": _number(a.connect_ms),
        "first_token_ms": _number(a.first_token_ms), "total_ms": _number(a.total_ms), "tokens_in": a.tokens_in,
        "tokens_out": a.tokens_out, "created_at": a.created_at,
    })
    group.touch(a.session_id, a.created_at)


def add_event(group: Group, e: EventRecord) -> None:
    group.events.append({
        "session_id": e.session_id, "kind": e.kind, "detail": json.dumps(e.detail, ensure_ascii=False),
        "created_at": e.created_at,
    })
    group.touch(e.session_id, e.created_at)


def add_sitrep(group: Group, s: SitrepRecord) -> None:
    group.sitreps.append({
        "session_id": s.session_id, "sitrep": json.dumps(s.sitrep, ensure_ascii=False), "turn_count": s.turn_count,
        "created_at": s.created_at,
    })
    group.touch(s.session_id, s.created_at)


def add_response(group: Group, r: ResponseRecord) -> None:
    group.responses[r.id] = {
        "id": r.id, "session_id": r.session_id, "branch": r.branch, "seq": r.seq,
        "body": r.body, "created_at": r.created_at,
    }
    group.touch(r.session_id, r.created_at)


def add_thread(group: Group, t: ThreadRecord) -> None:
    group.threads[t.message_id] = {
        "id": t.message_id, "session_id": t.session_id, "branch": t.branch, "seq": t.seq, "created_at": t.created_at,
    }
    group.touch(t.session_id, t.created_at)


def add_compaction(group: Group, c: CompactionRecord) -> None:
    group.compactions[c.key] = {"key": c.key, "session_id": c.session_id, "created_at": c.created_at}
    group.touch(c.session_id, c.created_at)


def prune(conn: Connection, older_than_days: float) -> int:
    cutoff = now() - older_than_days * 86400
    stale = "SELECT id FROM sessions WHERE last_activity < %s"
    for table in SESSION_ROWS:
        conn.execute(f"DELETE FROM {table} WHERE session_id IN ({stale})", (cutoff,))
    return int(conn.execute("DELETE FROM sessions WHERE last_activity < %s", (cutoff,)).rowcount)
