"""The queries behind the store's read side: plain functions of a connection, run in a reader
thread inside one read transaction (a consistent snapshot)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from trooper.store.base import PINNED_EVENT, Columns, Row, branch_view, session_columns
from trooper.store.read_sql import (
    ATTEMPT_COLUMNS,
    SESSION_COLUMNS,
    TURN_COLUMNS,
    page_filter,
    paged,
    parse_json_columns,
    table_queries,
    where_session,
)
from trooper.store.summaries import SummaryQueries, summarise


def _rows(cursor: sqlite3.Cursor) -> list[Row]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor]


def list_sessions(conn: sqlite3.Connection, limit: int | None, offset: int, since: float | None) -> list[Row]:
    where, params = ("WHERE last_activity >= ?", (since,)) if since is not None else ("", ())
    page_sql = f"SELECT id FROM sessions {where} ORDER BY last_activity DESC, id LIMIT ? OFFSET ?"
    page_params = (*params, -1 if limit is None else limit, offset)
    sessions = _rows(
        conn.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions {where} ORDER BY last_activity DESC, id LIMIT ? OFFSET ?",
            page_params,
        )
    )
    return summarise(conn, _SUMMARY_QUERIES, sessions, page_sql, page_params)


def get_session(conn: sqlite3.Connection, session_id: str) -> Row | None:
    sessions = _rows(conn.execute(f"SELECT {SESSION_COLUMNS}, opening FROM sessions WHERE id = ?", (session_id,)))
    if not sessions:
        return None
    (summary,) = summarise(conn, _SUMMARY_QUERIES, sessions, "SELECT ?", (session_id,))
    latest = conn.execute("SELECT sitrep FROM sitreps WHERE session_id = ? ORDER BY id DESC LIMIT 1", (session_id,)).fetchone()
    summary["sitrep"] = json.loads(latest[0]) if latest else None
    return summary


#: A group of turns' dollars spent and avoided, and how many of its turns had no price (NULL);
#: TOTAL is 0.0 where SUM would be NULL.
_COST_SUMS = (
    "TOTAL(cost_spent) AS spent, TOTAL(cost_avoided) AS avoided, SUM(cost_spent IS NULL) + SUM(cost_avoided IS NULL) AS unpriced"
)


def clients(conn: sqlite3.Connection) -> list[Row]:
    """Per client (its name, else its session's front door, as the dashboard names it): how many
    sessions, tokens saved, dollars spent and avoided, and turns left unpriced; the most avoided first."""
    return _rows(
        conn.execute(
            f"WITH per_session AS (SELECT session_id, SUM(tokens_saved) AS saved, {_COST_SUMS} "
            "FROM turns WHERE provider != '' GROUP BY session_id) "
            "SELECT CASE WHEN s.client != '' THEN s.client ELSE s.source END AS client, COUNT(*) AS sessions, "
            "CAST(TOTAL(p.saved) AS INTEGER) AS tokens_saved, TOTAL(p.spent) AS cost_spent, "
            "TOTAL(p.avoided) AS cost_avoided, CAST(TOTAL(p.unpriced) AS INTEGER) AS unpriced_turns "
            "FROM sessions s LEFT JOIN per_session p ON p.session_id = s.id GROUP BY 1 ORDER BY cost_avoided DESC, client"
        )
    )


#: The session summaries' queries in SQLite's dialect (``store/summaries.py``).
_SUMMARY_QUERIES = SummaryQueries(
    providers=f"SELECT session_id, provider, COUNT(*), SUM(tokens_saved), {_COST_SUMS} FROM turns "
    "WHERE provider != '' AND {in_page} GROUP BY session_id, provider",
    # Rows come in (session, branch) order, so the last one seen per session is its latest branch.
    branches="SELECT session_id, branch, MAX(seq) + 1 FROM turns WHERE {in_page} GROUP BY session_id, branch "
    "ORDER BY session_id, branch",
    events="SELECT session_id, SUM(kind = 'escalated'), SUM(kind = 'fallback'), "
    f"MIN(CASE WHEN kind = '{PINNED_EVENT}' THEN json_extract(detail, '$.finding') END) FROM events "
    "WHERE {in_page} GROUP BY session_id",
    intents="SELECT session_id, json_extract(sitrep, '$.intent') FROM sitreps "
    "WHERE id IN (SELECT MAX(id) FROM sitreps WHERE {in_page} GROUP BY session_id)",
    # SQLite takes the bare column ``text`` from the row that holds MIN(seq): the first question.
    first_questions="SELECT session_id, text FROM (SELECT session_id, text, MIN(seq) FROM turns "
    "WHERE role = 'user' AND text != '' AND {in_page} GROUP BY session_id)",
)


def transcript(conn: sqlite3.Connection, session_id: str, branch: int | None) -> list[Row]:
    rows = _rows(conn.execute(f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = ?", (session_id,)))
    for row in rows:
        row["content"] = json.loads(row["content"])
    return branch_view(rows, branch)


_TABLE_SQL = table_queries(sitrep_intent="json_extract(sitrep, '$.intent')")


def table(conn: sqlite3.Connection, name: str, session_id: str | None) -> Columns:
    if name == "sessions":
        return session_columns(list_sessions(conn, None, 0, None))
    where, params = where_session(session_id, "?")
    cursor = conn.execute(_TABLE_SQL[name].format(where=where), params)
    return parse_json_columns(_columns([d[0] for d in cursor.description], cursor.fetchall()))


def table_page(
    conn: sqlite3.Connection, name: str, session_id: str | None, after: int | None, limit: int
) -> tuple[Columns, int | None]:
    """Up to ``limit`` rows of a table (as ``table`` gives them) written after the row ``after``,
    and the cursor of the next page (None on the last). Sessions come in the order they were
    created, so a session that becomes active while they are read is neither skipped nor repeated."""
    where, params = page_filter(name, session_id, after, "?")
    if name == "sessions":
        return _sessions_page(conn, where, params, limit)
    cursor = conn.execute(paged(_TABLE_SQL[name].format(where=where), name, "?"), (*params, limit))
    columns = _columns([d[0] for d in cursor.description], cursor.fetchall())
    keys = columns.pop("page_key")
    return parse_json_columns(columns), (keys[-1] if len(keys) == limit else None)


def _sessions_page(conn: sqlite3.Connection, where: str, params: list[Any], limit: int) -> tuple[Columns, int | None]:
    ids_sql = f"SELECT id FROM sessions {where} ORDER BY rowid LIMIT ?"
    rows = _rows(
        conn.execute(
            f"SELECT rowid AS page_key, {SESSION_COLUMNS} FROM sessions {where} ORDER BY rowid LIMIT ?",
            (*params, limit),
        )
    )
    keys = [row.pop("page_key") for row in rows]
    return session_columns(summarise(conn, _SUMMARY_QUERIES, rows, ids_sql, (*params, limit))), (keys[-1] if len(keys) == limit else None)


def _columns(names: list[str], values: list[tuple[Any, ...]]) -> Columns:
    if not values:
        return {name: [] for name in names}
    return {name: list(column) for name, column in zip(names, zip(*values))}


def attempts(conn: sqlite3.Connection, session_id: str | None) -> list[Row]:
    where, params = where_session(session_id, "?")
    return _rows(conn.execute(f"SELECT {ATTEMPT_COLUMNS} FROM attempts {where} ORDER BY id", params))


def events(conn: sqlite3.Connection, session_id: str | None) -> list[Row]:
    where, params = where_session(session_id, "?")
    rows = _rows(conn.execute(f"SELECT id, session_id, kind, detail, created_at FROM events {where} ORDER BY id", params))
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows


def sitreps(conn: sqlite3.Connection, session_id: str | None) -> list[Row]:
    where, params = where_session(session_id, "?")
    rows = _rows(
        conn.execute(f"SELECT id, session_id, sitrep, turn_count, created_at FROM sitreps {where} ORDER BY id", params)
    )
    for row in rows:
        row["sitrep"] = json.loads(row["sitrep"])
    return rows


def thread(conn: sqlite3.Connection, message_id: str) -> Row | None:
    rows = _rows(conn.execute("SELECT session_id, branch, seq FROM message_threads WHERE id = ?", (message_id,)))
    return rows[0] if rows else None


def compacted_session(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT session_id FROM compactions WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def response(conn: sqlite3.Connection, response_id: str) -> Row | None:
    rows = _rows(conn.execute("SELECT id, session_id, branch, seq, body, created_at FROM responses WHERE id = ?", (response_id,)))
    if not rows:
        return None
    rows[0]["body"] = json.loads(rows[0]["body"])
    return rows[0]
