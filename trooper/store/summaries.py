"""A page of session summaries: the per-session figures each store adds to its session rows, by
five grouped queries over the page's sessions instead of queries per session.

The logic is one; the SQL is each store's dialect (``SummaryQueries``). Each query is a template
with ``{in_page}``: the condition that keeps a row's ``session_id`` among the page's sessions.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from trooper.store.base import Row, first_words


class SummaryQueries(NamedTuple):
    """The five queries, each selecting the columns its comment names, in that order."""

    #: session_id, provider, answers, tokens saved, dollars spent, dollars avoided, unpriced answers
    providers: str
    #: session_id, branch, turn count; for each session, its latest branch is the last row
    branches: str
    #: session_id, escalations, fallbacks, the kind that pinned the session local (or NULL)
    events: str
    #: session_id, the latest SITREP's intent; one row per session
    intents: str
    #: session_id, the text of its first question; one row per session
    first_questions: str


class _Connection(Protocol):
    # sqlite3's and psycopg's connections both run a query and iterate its rows this way.
    def execute(self, query: Any, params: Any = ...) -> Any: ...


def summarise(
    conn: _Connection, queries: SummaryQueries, sessions: list[Row], ids_sql: str, ids_params: tuple[Any, ...]
) -> list[Row]:
    """``sessions`` (rows of the sessions table) with their figures added; ``ids_sql`` selects the
    same sessions' ids with ``ids_params``."""
    by_id = {s["id"]: s for s in sessions}
    for s in sessions:
        s.update(intent=None, first_words="", branch=0, turn_count=0, providers={}, tokens_saved=0, cost_spent=0.0,
                 cost_avoided=0.0, unpriced_turns=0, escalations=0, fallbacks=0, private=None)
    in_page = f"session_id IN ({ids_sql})"

    def rows(template: str) -> Any:
        return conn.execute(template.format(in_page=in_page), ids_params)

    for session_id, provider, turns, saved, spent, avoided, unpriced in rows(queries.providers):
        summary = by_id[session_id]
        summary["providers"][provider] = turns
        summary["tokens_saved"] += saved
        summary["cost_spent"] += spent
        summary["cost_avoided"] += avoided
        summary["unpriced_turns"] += unpriced
    # The latest branch's transcript runs from seq 0 to its highest seq (see branch_view).
    for session_id, branch, count in rows(queries.branches):
        by_id[session_id].update(branch=branch, turn_count=count)
    for session_id, escalations, fallbacks, private in rows(queries.events):
        by_id[session_id].update(escalations=escalations, fallbacks=fallbacks, private=private)
    for session_id, intent in rows(queries.intents):
        by_id[session_id]["intent"] = intent
    for session_id, text in rows(queries.first_questions):
        by_id[session_id]["first_words"] = first_words(text)
    return sessions
