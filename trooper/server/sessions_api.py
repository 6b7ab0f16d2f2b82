"""The sessions JSON API (a session's SITREP and recovery brief included) and the live feed's
Server-Sent Events.

Every read endpoint answers JSON by default and, with ``?format=table``, pandas' JSON Table
Schema of the frame ``trooper.store.frames.build_frame`` builds (``pd.read_json(orient="table")``
gets the same dtypes back). Times are epoch seconds in JSON and UTC datetimes in tables.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from tornado.iostream import StreamClosedError

from trooper.engine.live import Batch
from trooper.engine.sessions import LiveSession
from trooper.errors import InvalidRequest, TrooperError
from trooper.memory.recovery import build_recovery
from trooper.server.base import BaseHandler
from trooper.store.base import Columns, Row, session_columns
from trooper.store.frames import SCHEMAS, build_frame, frame_to_table_json

DEFAULT_PAGE = 50
MAX_PAGE = 1000
#: Proxies and browsers drop an idle stream; a comment line every so often keeps it open.
HEARTBEAT_SECONDS = 15.0
#: A live subscriber whose updates cannot be written for this long is dropped.
LIVE_WRITE_TIMEOUT_SECONDS = 10.0


#: The last second of the year 9999: later times overflow pandas' and SQLite's own.
LATEST_SINCE = 253_402_300_799
#: Rows of a table a page holds, by default and at most: a page is encoded on the event loop.
TABLE_PAGE = 1000
MAX_TABLE_PAGE = 10_000
#: Offsets beyond this are past any table (and past SQLite's 64-bit integers long before).
MAX_OFFSET = 10**12


def parse_since(raw: str) -> float:
    """``?since=``: epoch seconds, or an ISO 8601 time (UTC when it names no zone), from 1970 on."""
    try:
        value = float(raw)
    except ValueError:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise InvalidRequest(f"since must be epoch seconds or an ISO 8601 time, got {raw!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        value = moment.timestamp()
    if not math.isfinite(value) or not 0 <= value <= LATEST_SINCE:
        raise InvalidRequest(f"since must be a time between 1970 and the year 9999, got {raw!r}")
    return value


def _records(columns: Columns) -> list[Row]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def _transcript_columns(turns: list[Row]) -> Columns:
    """A transcript's rows in the shape of the turns table (content back to JSON text)."""
    columns: Columns = {name: [t[name] for t in turns] for name in SCHEMAS["turns"] if name != "content_json"}
    columns["content_json"] = [json.dumps(t["content"], ensure_ascii=False) for t in turns]
    return columns


class _ReadHandler(BaseHandler):
    """Shared query parsing: ``format``, whole numbers, and answering with a frame."""

    def wants_table(self) -> bool:
        fmt = self.get_query_argument("format", "json")
        if fmt not in ("json", "table"):
            raise InvalidRequest(f"format must be json or table, got {fmt!r}")
        return fmt == "table"

    def whole_number(self, name: str, default: int, low: int, high: int | None = None) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidRequest(f"{name} must be a whole number, got {raw!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise InvalidRequest(f"{name} must be {bounds}, got {value}")
        return value

    def write_frame(self, frame: pd.DataFrame) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(frame_to_table_json(frame))

    async def known_session(self, session_id: str) -> Row:
        session = await self.state.store.get_session(session_id)
        if session is None:
            raise TrooperError(404, "no session with that id", "not_found_error")
        return session


class SessionListHandler(_ReadHandler):
    """``GET /sessions?limit=&offset=&since=``: summaries, most recently active first, a page
    at a time. With ``cursor`` (0 for the first page) they come in the order they were created
    instead, ``limit`` (``TABLE_PAGE`` by default) after the cursor, the next cursor in
    ``X-Next-Cursor``: how the DataFrames read them all without skipping a session that becomes
    active meanwhile."""

    async def get(self) -> None:
        if self.get_query_argument("cursor", None) is not None:
            await _write_table_page(self, "sessions", None)
            return
        limit = self.whole_number("limit", DEFAULT_PAGE, 1, MAX_PAGE)
        offset = self.whole_number("offset", 0, 0, MAX_OFFSET)
        raw_since = self.get_query_argument("since", None)
        since = parse_since(raw_since) if raw_since is not None else None
        sessions = await self.state.store.list_sessions(limit=limit, offset=offset, since=since)
        if self.wants_table():
            self.write_frame(build_frame("sessions", session_columns(sessions)))
            return
        self.write_json({"sessions": sessions, "limit": limit, "offset": offset})


class SessionHandler(_ReadHandler):
    """``GET /sessions/{id}``: the summary and the latest SITREP."""

    async def get(self, session_id: str) -> None:
        self.write_json(await self.known_session(session_id))


class TranscriptHandler(_ReadHandler):
    """``GET /sessions/{id}/transcript?branch=``: one branch's turns (default: the latest)."""

    async def get(self, session_id: str) -> None:
        await self.known_session(session_id)
        raw_branch = self.get_query_argument("branch", None)
        branch = None if raw_branch is None else self.whole_number("branch", 0, 0)
        turns = await self.state.store.transcript(session_id, branch)
        if self.wants_table():
            self.write_frame(build_frame("turns", _transcript_columns(turns)))
            return
        self.write_json({"session_id": session_id, "turns": turns})


class ClientsHandler(_ReadHandler):
    """``GET /clients``: per client, its sessions, tokens saved and dollars spent and avoided."""

    async def get(self) -> None:
        clients = await self.state.store.clients()
        if self.wants_table():
            self.write_frame(build_frame("clients", {name: [c[name] for c in clients] for name in SCHEMAS["clients"]}))
            return
        self.write_json({"clients": clients})


class SessionTableHandler(_ReadHandler):
    """``GET /sessions/{id}/<table>``: one session's rows of that table."""

    table: str

    def initialize(self, table: str) -> None:
        self.table = table  # from the route table

    async def get(self, session_id: str) -> None:
        await self.known_session(session_id)
        store = self.state.store
        if self.wants_table():
            self.write_frame(build_frame(self.table, await store.table(self.table, session_id)))
            return
        readers = {"attempts": store.attempts, "events": store.events, "sitreps": store.sitreps}
        self.write_json({self.table: await readers[self.table](session_id)})


class TableHandler(_ReadHandler):
    """``GET /turns|attempts|events|sitreps?session_id=&limit=&cursor=``: a table across sessions
    (or of one session, which need not exist: then it is empty), for the DataFrames, a page at a
    time: ``limit`` rows (``TABLE_PAGE`` by default) after ``cursor``; the next page's cursor is
    in the ``X-Next-Cursor`` header (and ``next_cursor``), absent on the last page."""

    table: str

    def initialize(self, table: str) -> None:
        self.table = table  # from the route table

    async def get(self) -> None:
        await _write_table_page(self, self.table, self.get_query_argument("session_id", None))


async def _write_table_page(handler: _ReadHandler, table: str, session_id: str | None) -> None:
    """Answers ``limit`` rows of ``table`` after ``cursor``, in JSON or as a frame."""
    limit = handler.whole_number("limit", TABLE_PAGE, 1, MAX_TABLE_PAGE)
    after = handler.whole_number("cursor", -1, 0, MAX_OFFSET) if handler.get_query_argument("cursor", None) else None
    columns, next_cursor = await handler.state.store.table_page(table, session_id, after=after, limit=limit)
    if next_cursor is not None:
        handler.set_header("X-Next-Cursor", str(next_cursor))
    if handler.wants_table():
        handler.write_frame(build_frame(table, columns))
        return
    handler.write_json({table: _records(columns), "next_cursor": next_cursor})


class LiveHandler(BaseHandler):
    """``GET /api/live``: Server-Sent Events, one ``data:`` line of JSON per live-feed update.

    The feed delivers a tick's updates as one batch; whatever batches are waiting go out in one
    write and one flush.
    """

    heartbeat = HEARTBEAT_SECONDS
    write_timeout = LIVE_WRITE_TIMEOUT_SECONDS

    def initialize(self) -> None:
        self.gone = asyncio.Event()

    def on_connection_close(self) -> None:
        self.gone.set()

    async def get(self) -> None:
        self.start_event_stream()
        updates = self.state.feed.subscribe()
        gone = asyncio.ensure_future(self.gone.wait())  # one waiter for the whole connection
        try:
            self.write(": connected\n\n")
            await self._flush_in_time()
            while not gone.done():
                self.write(await self._next_frames(updates, gone))
                await self._flush_in_time()
        except (StreamClosedError, asyncio.TimeoutError):
            pass
        finally:
            gone.cancel()
            self.state.feed.unsubscribe(updates)

    async def _flush_in_time(self) -> None:
        """Flush, or drop a subscriber that has not read for ``WRITE_TIMEOUT`` seconds: a client
        that never reads would otherwise hold its connection and its buffer for good."""
        try:
            await asyncio.wait_for(self.flush(), self.write_timeout)
        except asyncio.TimeoutError:
            self.request.connection.close()  # type: ignore[union-attr]  # an HTTP1Connection here
            raise

    async def _next_frames(self, updates: asyncio.Queue[Batch], gone: asyncio.Future[Any]) -> str:
        """The waiting updates as events, or a heartbeat comment when none came in time."""
        first = asyncio.ensure_future(updates.get())
        await asyncio.wait({first, gone}, timeout=self.heartbeat, return_when=asyncio.FIRST_COMPLETED)
        if not first.done():
            first.cancel()
            return ": heartbeat\n\n"
        batches = [first.result()]
        while not updates.empty():
            batches.append(updates.get_nowait())
        return "".join(f"data: {update}\n\n" for batch in batches for update in batch)


_SESSION = r"/sessions/([^/]+)"

class _LiveSessionHandler(BaseHandler):
    async def live_session(self, session_id: str) -> LiveSession:
        """The session as the engine holds it (loaded from the store if it is not in memory)."""
        sessions = self.services.sessions
        if await self.state.store.get_session(session_id) is None and sessions.peek(session_id) is None:
            raise TrooperError(404, f"no session with id {session_id!r}", "not_found_error")
        return await sessions.open(session_id, "unknown")


class CurrentSitrepHandler(_LiveSessionHandler):
    """``GET /sitrep/{id}``: the session's SITREP as it stands now."""

    async def get(self, session_id: str) -> None:
        session = await self.live_session(session_id)
        self.write_json({"session_id": session.id, **self.services.sessions.sitrep_now(session).to_dict()})


class RecoveryHandler(_LiveSessionHandler):
    """``GET /recovery/{id}``: the brief that lets a fresh agent take over the session."""

    async def get(self, session_id: str) -> None:
        session = await self.live_session(session_id)
        self.write_json(build_recovery(session.id, session.messages, self.state.settings.context_window))


ROUTES: list[tuple[str, type] | tuple[str, type, dict[str, str]]] = [
    (r"/sessions", SessionListHandler),
    (_SESSION, SessionHandler),
    (_SESSION + r"/transcript", TranscriptHandler),
    *((_SESSION + "/" + table, SessionTableHandler, {"table": table}) for table in ("attempts", "events", "sitreps")),
    (r"/clients", ClientsHandler),
    *(("/" + table, TableHandler, {"table": table}) for table in ("turns", "attempts", "events", "sitreps")),
    (r"/api/live", LiveHandler),
    (r"/sitrep/([^/]+)", CurrentSitrepHandler),
    (r"/recovery/([^/]+)", RecoveryHandler),
]
