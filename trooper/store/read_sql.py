"""The SQL both stores' read sides share (``sqlite_reads``, ``postgres_reads``): the column lists,
the bulk queries behind ``Store.table`` and the filter of a table's page, written once with each
dialect's parameter mark and JSON read passed in, so that a column added to a DataFrame reaches
both stores at once (the APIs and DataFrames cannot tell the stores apart)."""

from __future__ import annotations

import json
from typing import Any

from trooper.store.base import Columns

TURN_COLUMNS = (
    "session_id, branch, seq, role, content, text, provider, model, tokens_in, tokens_out, tokens_cached, tokens_saved, "
    "cost_spent, cost_avoided, stop_reason, tier, latency_ms, created_at"
)
#: A session row as its summary starts (docs/store.md).
SESSION_COLUMNS = "id, parent_id, source, client, route, title, created_at, last_activity"
ATTEMPT_COLUMNS = (
    "id, session_id, provider, model, status, trigger, outcome, error_class, connect_ms, first_token_ms, total_ms, "
    "tokens_in, tokens_out, created_at"
)
#: Small JSON columns parsed for analysis (turn content stays JSON text: parsing 100k is slow).
JSON_COLUMNS = ("detail", "sitrep")
#: The key each table is paged by: increasing with every row written.
PAGE_KEYS = {"sessions": "rowid", "turns": "rowid", "attempts": "id", "events": "id", "sitreps": "id"}


def table_queries(sitrep_intent: str) -> dict[str, str]:
    """The bulk queries behind ``Store.table``, each with a ``{where}`` to fill; column names are
    the DataFrames' (docs/dataframes.md). ``sitrep_intent``: the dialect's read of the intent out
    of a SITREP's JSON."""
    return {
        "turns": "SELECT session_id, branch, seq, role, provider, model, text, content AS content_json, tokens_in, "
        "tokens_out, tokens_cached, tokens_saved, cost_spent, cost_avoided, stop_reason, tier, latency_ms, created_at "
        "FROM turns {where} ORDER BY rowid",
        "attempts": f"SELECT {ATTEMPT_COLUMNS} FROM attempts {{where}} ORDER BY id",
        "events": "SELECT id, session_id, kind, detail, created_at FROM events {where} ORDER BY id",
        "sitreps": f"SELECT id, session_id, {sitrep_intent} AS intent, turn_count, sitrep, created_at "
        "FROM sitreps {where} ORDER BY id",
    }


def where_session(session_id: str | None, mark: str) -> tuple[str, tuple[Any, ...]]:
    """The filter to one session's rows (none: all), with the dialect's parameter ``mark``."""
    return (f"WHERE session_id = {mark}", (session_id,)) if session_id is not None else ("", ())


def page_filter(name: str, session_id: str | None, after: int | None, mark: str) -> tuple[str, list[Any]]:
    """The filter of a page of table ``name``: one session's rows (or all) written after the row ``after``."""
    session_column = "id" if name == "sessions" else "session_id"
    clauses: list[str] = [] if session_id is None else [f"{session_column} = {mark}"]
    params: list[Any] = [] if session_id is None else [session_id]
    if after is not None:
        clauses.append(f"{PAGE_KEYS[name]} > {mark}")
        params.append(after)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


def paged(sql: str, name: str, mark: str) -> str:
    """A table query of ``table_queries`` that also gives each row's page key and takes a limit."""
    return sql.replace("SELECT ", f"SELECT {PAGE_KEYS[name]} AS page_key, ", 1) + f" LIMIT {mark}"


def parse_json_columns(columns: Columns) -> Columns:
    """``columns`` with its small JSON columns parsed (in place)."""
    for column in JSON_COLUMNS:
        if column in columns:
            columns[column] = [json.loads(v) for v in columns[column]]
    return columns
