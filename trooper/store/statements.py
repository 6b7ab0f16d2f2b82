"""What a store's SQL modules provide: the write statements and the read queries a
``QueuedStore`` runs, one module of plain functions each (``sqlite_writes``/``sqlite_reads``,
``postgres_writes``/``postgres_reads``).

A module meets one of these Protocols by having the functions with these signatures, which mypy
checks where a store names its modules. The first parameter is the dialect's own: the SQLite
writer's ``Batch`` or the PostgreSQL writer's ``Group`` of rows for a write, a
``sqlite3.Connection`` or a psycopg ``Connection`` for a query (and ``prune``); only that
dialect's store passes it, so it is typed ``Any`` here and exactly in each module.
"""

from __future__ import annotations

from typing import Any, Protocol

from trooper.store.base import Columns, Row
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


class WriteStatements(Protocol):
    """One function per write, of the writer's connection (or group) and one record."""

    def upsert_session(self, target: Any, session: SessionRecord, /) -> None: ...

    #: ``(session_id, route, at)``.
    def set_route(self, target: Any, change: tuple[str, str, float], /) -> None: ...

    def add_turns(self, target: Any, turns: list[TurnRecord], /) -> None: ...

    def add_attempt(self, target: Any, attempt: AttemptRecord, /) -> None: ...

    def add_event(self, target: Any, event: EventRecord, /) -> None: ...

    def add_sitrep(self, target: Any, sitrep: SitrepRecord, /) -> None: ...

    def add_response(self, target: Any, response: ResponseRecord, /) -> None: ...

    def add_thread(self, target: Any, thread: ThreadRecord, /) -> None: ...

    def add_compaction(self, target: Any, compaction: CompactionRecord, /) -> None: ...

    def prune(self, conn: Any, /, older_than_days: float) -> int: ...


class ReadQueries(Protocol):
    """One function per query, of a reader's connection; run in one snapshot."""

    def list_sessions(self, conn: Any, /, limit: int | None, offset: int, since: float | None) -> list[Row]: ...

    def get_session(self, conn: Any, /, session_id: str) -> Row | None: ...

    def clients(self, conn: Any, /) -> list[Row]: ...

    def transcript(self, conn: Any, /, session_id: str, branch: int | None) -> list[Row]: ...

    def table(self, conn: Any, /, name: str, session_id: str | None) -> Columns: ...

    def table_page(
        self, conn: Any, /, name: str, session_id: str | None, after: int | None, limit: int
    ) -> tuple[Columns, int | None]: ...

    def attempts(self, conn: Any, /, session_id: str | None) -> list[Row]: ...

    def events(self, conn: Any, /, session_id: str | None) -> list[Row]: ...

    def sitreps(self, conn: Any, /, session_id: str | None) -> list[Row]: ...

    def response(self, conn: Any, /, response_id: str) -> Row | None: ...

    def thread(self, conn: Any, /, message_id: str) -> Row | None: ...

    def compacted_session(self, conn: Any, /, key: str) -> str | None: ...
