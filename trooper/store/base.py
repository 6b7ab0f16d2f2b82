"""The narrow interface every session store implements (SQLite today, PostgreSQL later).

Write methods only enqueue and return at once: the proxy never waits on disk. Reads are async
and run off the event loop; a read sees every write made before it. ``flush()`` waits until the
queued writes are committed (other processes reading the file see them then). The shapes of the
dicts returned are documented in docs/store.md.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from typing import Any

from trooper.client_context import without_client_context
from trooper.store.health import SharedHealth
from trooper.store.records import (
    AttemptRecord,
    CompactionRecord,
    EventRecord,
    ResponseRecord,
    SessionRecord,
    SitrepRecord,
    ThreadRecord,
    TurnRecord,
)

Row = dict[str, Any]
#: Column name -> values, all of the same length: the bulk shape DataFrames are built from.
Columns = dict[str, list[Any]]
#: The tables ``Store.table`` serves (and ``trooper.store.frames`` turns into DataFrames).
TABLES = ("sessions", "turns", "attempts", "events", "sitreps")
#: The tables whose rows belong to one session (``session_id``): pruned with it.
SESSION_ROWS = ("turns", "attempts", "events", "sitreps", "responses", "message_threads", "compactions")



class StoreWriteError(Exception):
    """A write of a session's row or turns could not be committed and was dropped."""


class StoreUnavailable(Exception):
    """The store cannot be opened or read: its database is unreachable, or its driver is not
    installed. The message never holds a password."""

class Store(abc.ABC):
    #: Whether other processes (replicas) write to this store too, so what this process holds in
    #: memory of a session may be behind it.
    shared = False

    # ------------------------------------------------------------ write side (never blocks)

    @abc.abstractmethod
    def upsert_session(self, session: SessionRecord) -> None:
        """Create the session, or update its source and (non-empty) title and client. An existing
        session keeps its ``created_at`` and its route: routes change through ``set_route``."""

    @abc.abstractmethod
    def set_route(self, session_id: str, route: str) -> None: ...

    @abc.abstractmethod
    def add_turns(self, turns: list[TurnRecord]) -> None:
        """Record turns; a turn with the same (session, branch, seq) replaces the stored one, so
        a client resending its whole history does not duplicate it."""

    @abc.abstractmethod
    def add_attempt(self, attempt: AttemptRecord) -> None: ...

    @abc.abstractmethod
    def add_event(self, event: EventRecord) -> None: ...

    @abc.abstractmethod
    def add_sitrep(self, sitrep: SitrepRecord) -> None: ...

    @abc.abstractmethod
    def add_response(self, response: ResponseRecord) -> None:
        """Keep a Responses API response (by id). Like a turn, a turn's acknowledgement waits for
        it: a client must not get an id it cannot continue from."""

    @abc.abstractmethod
    def add_thread(self, thread: ThreadRecord) -> None:
        """Keep where a threaded Messages answer is (by its id); the turn's acknowledgement waits
        for it, as for a kept response."""

    @abc.abstractmethod
    def add_compaction(self, compaction: CompactionRecord) -> None:
        """Keep which session an answer compacted (by the compaction's key), with its turn."""

    # ------------------------------------------------------------ read side (async)

    @abc.abstractmethod
    async def list_sessions(self, limit: int | None = 50, offset: int = 0, since: float | None = None) -> list[Row]:
        """Session summaries, most recently active first; ``since`` keeps sessions active at or
        after that epoch time; ``limit=None`` returns all."""

    @abc.abstractmethod
    async def get_session(self, session_id: str) -> Row | None:
        """The session's summary plus ``sitrep`` (the latest SITREP dict, or None)."""

    @abc.abstractmethod
    async def transcript(self, session_id: str, branch: int | None = None) -> list[Row]:
        """The turns of one branch in order (the latest branch when ``branch`` is None); see
        ``branch_view`` for how a branch borrows the turns before its fork."""

    @abc.abstractmethod
    async def table(self, name: str, session_id: str | None = None) -> Columns:
        """A whole table (of one session, or of all) as columns, for analysis: the column names
        of docs/dataframes.md, times as epoch seconds, a turn's content as JSON text. Every turn
        of every branch is included. ``sessions`` is always all sessions."""

    @abc.abstractmethod
    async def table_page(
        self, name: str, session_id: str | None = None, *, after: int | None = None, limit: int
    ) -> tuple[Columns, int | None]:
        """A page of ``table``: up to ``limit`` rows written after the row the cursor ``after``
        names, and the cursor of the next page (None on the last). Sessions are paged in the order
        they were created, with their summaries."""

    @abc.abstractmethod
    async def clients(self) -> list[Row]:
        """Per client (``client``, else the session's ``source``): ``sessions``, ``tokens_saved``,
        ``cost_spent``, ``cost_avoided`` and ``unpriced_turns`` over all its sessions, the most
        avoided first."""

    @abc.abstractmethod
    async def attempts(self, session_id: str | None = None) -> list[Row]: ...

    @abc.abstractmethod
    async def events(self, session_id: str | None = None) -> list[Row]: ...

    @abc.abstractmethod
    async def sitreps(self, session_id: str | None = None) -> list[Row]: ...

    @abc.abstractmethod
    async def compacted_session(self, key: str) -> str | None:
        """The session a compaction (by its key) was answered in, or None."""

    @abc.abstractmethod
    async def get_thread(self, message_id: str) -> Row | None:
        """``{"session_id", "branch", "seq"}`` of the turn holding a threaded answer, or None."""

    @abc.abstractmethod
    async def get_response(self, response_id: str) -> Row | None:
        """``{"id", "session_id", "branch", "seq", "body", "created_at"}`` of a kept response
        (``body`` parsed), or None."""

    @abc.abstractmethod
    async def session_messages(self, session_id: str) -> list[Row]:
        """The latest branch as ``{"seq", "branch", "role", "content"}`` dicts, to rebuild a
        session's in-memory history after a restart."""

    @abc.abstractmethod
    async def prune(self, older_than_days: float) -> int:
        """Delete sessions with no activity for that many days, with all their rows; returns
        how many sessions went."""

    @abc.abstractmethod
    async def flush(self, session_id: str | None = None) -> None:
        """Wait until everything enqueued so far is durably written. With ``session_id``, raise
        ``StoreWriteError`` when a write of that session's row or turns was dropped since its last
        such flush (each write is all or nothing), so the turn is failed, not acknowledged."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush, then release the store. Writes after close are refused."""

    @abc.abstractmethod
    def watch(self, publish: Callable[[Row], None], loop: asyncio.AbstractEventLoop) -> None:
        """Call ``publish`` on ``loop`` with a live-feed update (``{"type": "turn", "session_id":
        …}``) for each change another process commits to this store, from now until it closes. A
        store one process writes (a SQLite file) has none to report."""

    def shared_health(self) -> SharedHealth | None:
        """Where the replicas sharing this store keep their providers' health (trooper/store/health.py);
        None for a store one process owns, whose breakers stay that process's own."""
        return None


def branch_view(turns: list[Row], branch: int | None = None) -> list[Row]:
    """The transcript of ``branch`` (default: the highest) from a session's turns of all branches.

    A branch holds the turns from where it forked; the turns before its first ``seq`` come from
    the view of the branch below it. A branch that stores the whole history from seq 0 is simply
    read as it is.
    """
    by_branch: dict[int, list[Row]] = {}
    for turn in sorted(turns, key=lambda t: (t["branch"], t["seq"])):
        by_branch.setdefault(turn["branch"], []).append(turn)
    if not by_branch:
        return []
    wanted = max(by_branch) if branch is None else branch
    view: list[Row] = []
    for number in sorted(b for b in by_branch if b <= wanted):
        own = by_branch[number]
        start = own[0]["seq"]
        view = [t for t in view if t["seq"] < start] + own
    return view


#: How much of a session's first question its summary shows (``first_words``).
FIRST_WORDS_CHARS = 80


def first_words(text: str, limit: int = FIRST_WORDS_CHARS) -> str:
    """The opening of a question as one line for a session list: client-added context left out,
    whitespace folded, cut at a word boundary with "…" past ``limit`` characters."""
    words = " ".join(without_client_context(text).split())
    if len(words) <= limit:
        return words
    cut = words[: limit + 1].rsplit(" ", 1)[0] if " " in words[:limit] else words[:limit]
    return cut.rstrip(" ,.;:") + "…"


#: A session summary's fields after its id, in the order of the sessions table (docs/store.md).
SESSION_SUMMARY_FIELDS = (
    "parent_id", "source", "client", "route", "title", "created_at", "last_activity", "intent", "first_words", "branch",
    "turn_count", "providers", "tokens_saved", "cost_spent", "cost_avoided", "unpriced_turns", "escalations", "fallbacks",
    "private",
)
#: The event that pins a session local (``trooper.routing.privacy``): its ``finding`` is a
#: summary's ``private``, so the session list can mark pinned sessions without reading events.
PINNED_EVENT = "privacy_pinned"


def session_columns(summaries: list[Row]) -> Columns:
    """Session summaries as the sessions table's columns (``id`` is ``session_id`` there)."""
    return {"session_id": [s["id"] for s in summaries], **{f: [s[f] for s in summaries] for f in SESSION_SUMMARY_FIELDS}}
