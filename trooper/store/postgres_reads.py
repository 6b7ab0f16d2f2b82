"""The queries behind the PostgreSQL store's read side: those of sqlite_reads.py in PostgreSQL's
dialect, returning the same rows and columns (the APIs and DataFrames cannot tell the stores
apart). Each runs in a reader thread, on a connection in autocommit, and sees one snapshot: a
query of one statement is one by itself; one of several runs them in one REPEATABLE READ,
read-only transaction (``_snapshot``). A statement alone saves the ``BEGIN`` and ``COMMIT``, two
round trips of a new session's lookup on the request path."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

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

Connection = Any  # psycopg.Connection
Query = TypeVar("Query", bound=Callable[..., Any])


def _snapshot(query: Query) -> Query:
    """``query``'s statements in one transaction (the connection's: REPEATABLE READ, read only)."""

    @functools.wraps(query)
    def in_one_snapshot(conn: Connection, *args: Any, **kwargs: Any) -> Any:
        with conn.transaction():
            return query(conn, *args, **kwargs)

    return in_one_snapshot  # type: ignore[return-value]


def _rows(conn: Connection, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Row]:
    cursor = conn.execute(sql, params)
    names = [d.name for d in cursor.description]
    return [dict(zip(names, values)) for values in cursor]


def _columns(conn: Connection, sql: str, params: tuple[Any, ...] | list[Any]) -> Columns:
    cursor = conn.execute(sql, params)
    names = [d.name for d in cursor.description]
    values = cursor.fetchall()
    if not values:
        return {name: [] for name in names}
    return {name: list(column) for name, column in zip(names, zip(*values))}


@_snapshot
def list_sessions(conn: Connection, limit: int | None, offset: int, since: float | None) -> list[Row]:
    where, params = ("WHERE last_activity >= %s", (since,)) if since is not None else ("", ())
    order = f"FROM sessions {where} ORDER BY last_activity DESC, id LIMIT %s OFFSET %s"  # LIMIT NULL: all
    page_params = (*params, limit, offset)
    sessions = _rows(conn, f"SELECT {SESSION_COLUMNS} {order}", page_params)
    return summarise(conn, _SUMMARY_QUERIES, sessions, f"SELECT id {order}", page_params)


def get_session(conn: Connection, session_id: str) -> Row | None:
    # A new session's lookup (on its first turn's request path) is this one statement; a session
    # found is read again whole in one snapshot.
    if not conn.execute("SELECT 1 FROM sessions WHERE id = %s", (session_id,)).fetchone():
        return None
    return _session(conn, session_id)


@_snapshot
def _session(conn: Connection, session_id: str) -> Row | None:
    sessions = _rows(conn, f"SELECT {SESSION_COLUMNS}, opening FROM sessions WHERE id = %s", (session_id,))
    if not sessions:  # pruned since
        return None
    (summary,) = summarise(conn, _SUMMARY_QUERIES, sessions, "SELECT %s::text", (session_id,))
    latest = conn.execute(
        "SELECT sitrep FROM sitreps WHERE session_id = %s ORDER BY id DESC LIMIT 1", (session_id,)
    ).fetchone()
    summary["sitrep"] = json.loads(latest[0]) if latest else None
    return summary


#: A group of turns' dollars spent and avoided (0.0, not NULL, when none), and how many of its
#: turns had no price (NULL).
_COST_SUMS = (
    "COALESCE(SUM(cost_spent), 0.0) AS spent, COALESCE(SUM(cost_avoided), 0.0) AS avoided, "
    "COUNT(*) FILTER (WHERE cost_spent IS NULL) + COUNT(*) FILTER (WHERE cost_avoided IS NULL) AS unpriced"
)


def clients(conn: Connection) -> list[Row]:
    """Per client (its name, else its session's front door): sessions, tokens saved, dollars
    spent and avoided, turns left unpriced; the most avoided first."""
    return _rows(
        conn,
        f"WITH per_session AS (SELECT session_id, SUM(tokens_saved) AS saved, {_COST_SUMS} "
        "FROM turns WHERE provider != '' GROUP BY session_id) "
        "SELECT CASE WHEN s.client != '' THEN s.client ELSE s.source END AS client, COUNT(*) AS sessions, "
        "COALESCE(SUM(p.saved), 0)::bigint AS tokens_saved, COALESCE(SUM(p.spent), 0.0) AS cost_spent, "
        "COALESCE(SUM(p.avoided), 0.0) AS cost_avoided, COALESCE(SUM(p.unpriced), 0)::bigint AS unpriced_turns "
        "FROM sessions s LEFT JOIN per_session p ON p.session_id = s.id GROUP BY 1 ORDER BY cost_avoided DESC, client",
    )


#: The session summaries' queries in PostgreSQL's dialect (``store/summaries.py``).
_SUMMARY_QUERIES = SummaryQueries(
    providers=f"SELECT session_id, provider, COUNT(*), SUM(tokens_saved)::bigint, {_COST_SUMS} FROM turns "
    "WHERE provider != '' AND {in_page} GROUP BY session_id, provider",
    branches="SELECT DISTINCT ON (session_id) session_id, branch, MAX(seq) + 1 FROM turns WHERE {in_page} "
    "GROUP BY session_id, branch ORDER BY session_id, branch DESC",
    events="SELECT session_id, COUNT(*) FILTER (WHERE kind = 'escalated'), COUNT(*) FILTER (WHERE kind = 'fallback'), "
    f"MIN(detail::json ->> 'finding') FILTER (WHERE kind = '{PINNED_EVENT}') "
    "FROM events WHERE {in_page} GROUP BY session_id",
    intents="SELECT DISTINCT ON (session_id) session_id, sitrep::json ->> 'intent' FROM sitreps "
    "WHERE {in_page} ORDER BY session_id, id DESC",
    first_questions="SELECT DISTINCT ON (session_id) session_id, text FROM turns "
    "WHERE role = 'user' AND text != '' AND {in_page} ORDER BY session_id, seq, branch",
)


def transcript(conn: Connection, session_id: str, branch: int | None) -> list[Row]:
    rows = _rows(conn, f"SELECT {TURN_COLUMNS} FROM turns WHERE session_id = %s", (session_id,))
    for row in rows:
        row["content"] = json.loads(row["content"])
    return branch_view(rows, branch)


_TABLE_SQL = table_queries(sitrep_intent="sitrep::json ->> 'intent'")


def table(conn: Connection, name: str, session_id: str | None) -> Columns:
    if name == "sessions":
        return session_columns(list_sessions(conn, None, 0, None))
    where, params = where_session(session_id, "%s")
    return parse_json_columns(_columns(conn, _TABLE_SQL[name].format(where=where), params))


def table_page(conn: Connection, name: str, session_id: str | None, after: int | None, limit: int) -> tuple[Columns, int | None]:
    """Up to ``limit`` rows of a table written after the row ``after``, and the next cursor."""
    where, params = page_filter(name, session_id, after, "%s")
    if name == "sessions":
        return _sessions_page(conn, where, params, limit)
    columns = _columns(conn, paged(_TABLE_SQL[name].format(where=where), name, "%s"), (*params, limit))
    keys = columns.pop("page_key")
    return parse_json_columns(columns), (keys[-1] if len(keys) == limit else None)


@_snapshot
def _sessions_page(conn: Connection, where: str, params: list[Any], limit: int) -> tuple[Columns, int | None]:
    ids_sql = f"SELECT id FROM sessions {where} ORDER BY rowid LIMIT %s"
    rows = _rows(conn, f"SELECT rowid AS page_key, {SESSION_COLUMNS} FROM sessions {where} ORDER BY rowid LIMIT %s",
                 (*params, limit))
    keys = [row.pop("page_key") for row in rows]
    return session_columns(summarise(conn, _SUMMARY_QUERIES, rows, ids_sql, (*params, limit))), (keys[-1] if len(keys) == limit else None)


def attempts(conn: Connection, session_id: str | None) -> list[Row]:
    where, params = where_session(session_id, "%s")
    return _rows(conn, f"SELECT {ATTEMPT_COLUMNS} FROM attempts {where} ORDER BY id", params)


def events(conn: Connection, session_id: str | None) -> list[Row]:
    where, params = where_session(session_id, "%s")
    rows = _rows(conn, f"SELECT id, session_id, kind, detail, created_at FROM events {where} ORDER BY id", params)
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows


def sitreps(conn: Connection, session_id: str | None) -> list[Row]:
    where, params = where_session(session_id, "%s")
    rows = _rows(conn, f"SELECT id, session_id, sitrep, turn_count, created_at FROM sitreps {where} ORDER BY id", params)
    for row in rows:
        row["sitrep"] = json.loads(row["sitrep"])
    return rows


def thread(conn: Connection, message_id: str) -> Row | None:
    rows = _rows(conn, "SELECT session_id, branch, seq FROM message_threads WHERE id = %s", (message_id,))
    return rows[0] if rows else None


def compacted_session(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT session_id FROM compactions WHERE key = %s", (key,)).fetchone()
    return str(row[0]) if row else None


def response(conn: Connection, response_id: str) -> Row | None:
    rows = _rows(conn, "SELECT id, session_id, branch, seq, body, created_at FROM responses WHERE id = %s", (response_id,))
    if not rows:
        return None
    rows[0]["body"] = json.loads(rows[0]["body"])
    return rows[0]
