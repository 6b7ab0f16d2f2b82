"""The SQLite store: one WAL file, one writer thread, reads in a small thread pool.

Writes are queued and the writer thread commits them in groups: after a write it waits
``GROUP_COMMIT_SECONDS`` for more, so a turn's writes (its history, attempts and answer) share one
commit, made after the answer has gone out rather than while the proxy is answering. With WAL and
``synchronous=NORMAL`` a committed transaction survives the process being killed; only a power
loss can take the last few. A read waits for the queued writes it could see, so every read sees
every write made before it.

Readers on a file have their own connections (WAL lets them read while the writer writes). An
in-memory database (``:memory:``, for tests) exists only inside its one connection, so there the
writer and the readers share it under a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from trooper.store import sqlite_reads as reads
from trooper.store import sqlite_writes as writes
from trooper.store.base import TABLES, Columns, Row, Store, StoreWriteError
from trooper.store.records import (
    AttemptRecord,
    EventRecord,
    ResponseRecord,
    SessionRecord,
    SitrepRecord,
    TurnRecord,
)
from trooper.store.schema import migrate

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Pending(NamedTuple):
    """A queued write: what runs, its record, its number in the queue, the session it belongs to."""

    write: writes.Write
    payload: Any
    number: int
    session_id: str
    #: One a turn's acknowledgement waits for (the session's row, its turns, a kept response): when
    #: it is dropped, ``flush(session_id)`` says so. Attempts, events and SITREPs are the routing's
    #: records: a turn does not fail for them.
    transcript: bool

READER_THREADS = 2
#: Upper bound of queued writes committed in one transaction.
BATCH_SIZE = 1000
#: How long the writer gathers writes into one transaction. Measured (bench/overhead.py): a
#: commit right after each write competed with the request being answered for the GIL.
GROUP_COMMIT_SECONDS = 0.02
#: Sessions whose last write is remembered (for reads of one session) before committed ones
#: are forgotten.
PENDING_SESSIONS_KEPT = 4096


class _Task:
    """Work that needs the writer's position in the queue (flush, prune) and reports back; a
    flush has nothing to run (``run`` None): it only waits for the writes queued before it."""

    def __init__(self, run: Callable[[sqlite3.Connection], Any] | None) -> None:
        self.run = run
        self.done: Future[Any] = Future()


_STOP = object()


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit; check_same_thread=False: a connection is
    # created in one thread and used (never concurrently) in another.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self.path = path
        self._in_memory = path == ":memory:"
        if not self._in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = _connect(path)
        migrate(self._writer_conn)
        self._shared_lock = threading.Lock()
        self._reader_local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="trooper-store-read")
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Writes are numbered as they are queued; the writer publishes the number of the last one
        # it committed. Only the event loop's thread queues writes and reads these counters.
        self._queued = 0
        self._committed = 0
        self._last_write: dict[str, int] = {}
        #: Sessions whose writes were dropped, until a ``flush`` for that session reports it.
        self._dropped: set[str] = set()
        #: Set when a task or a stop is queued: someone waits for the writer, which stops gathering.
        self._waited_for = threading.Event()
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="trooper-store-writer", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------ write side

    def _enqueue(self, write: writes.Write, payload: Any, session_id: str, *, transcript: bool = False) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        self._queued += 1
        if len(self._last_write) >= PENDING_SESSIONS_KEPT:
            self._last_write = {k: n for k, n in self._last_write.items() if n > self._committed}
        self._last_write[session_id] = self._queued
        self._queue.put(_Pending(write, payload, self._queued, session_id, transcript))

    def upsert_session(self, session: SessionRecord) -> None:
        self._enqueue(writes.upsert_session, session, session.id, transcript=True)

    def set_route(self, session_id: str, route: str) -> None:
        self._enqueue(writes.set_route, (session_id, route, time.time()), session_id)

    def add_turns(self, turns: list[TurnRecord]) -> None:
        if turns:
            self._enqueue(writes.add_turns, list(turns), turns[0].session_id, transcript=True)

    def add_attempt(self, attempt: AttemptRecord) -> None:
        self._enqueue(writes.add_attempt, attempt, attempt.session_id)

    def add_event(self, event: EventRecord) -> None:
        self._enqueue(writes.add_event, event, event.session_id)

    def add_sitrep(self, sitrep: SitrepRecord) -> None:
        self._enqueue(writes.add_sitrep, sitrep, sitrep.session_id)

    def add_response(self, response: ResponseRecord) -> None:
        self._enqueue(writes.add_response, response, response.session_id, transcript=True)

    async def flush(self, session_id: str | None = None) -> None:
        await self._submit(None)
        if session_id is not None and session_id in self._dropped:
            self._dropped.discard(session_id)
            raise StoreWriteError(f"writes of session {session_id!r} could not be committed (see the log)")

    async def prune(self, older_than_days: float) -> int:
        return await self._submit(partial(writes.prune, older_than_days=older_than_days))

    async def _submit(self, run: Callable[[sqlite3.Connection], T] | None) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        task = _Task(run)
        self._queue.put(task)
        self._waited_for.set()
        return await asyncio.wrap_future(task.done)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)  # the writer commits everything queued before it, then stops
        self._waited_for.set()
        await asyncio.to_thread(self._writer.join)
        await asyncio.to_thread(self._readers.shutdown)
        for conn in [*self._reader_conns, self._writer_conn]:
            conn.close()

    def _write_loop(self) -> None:
        while True:
            pending: list[_Pending] = []
            for item in self._next_batch():
                if isinstance(item, _Pending):
                    pending.append(item)
                    continue
                self._commit(pending)
                pending = []
                if item is _STOP:
                    return
                self._run_task(item)
            self._commit(pending)

    def _next_batch(self) -> list[Any]:
        """The next items to handle: after a write, what queues up within ``GROUP_COMMIT_SECONDS``
        or until a task or a stop is queued (someone waits for those), up to ``BATCH_SIZE``.

        While gathering, the writer waits on an event that only tasks set, not on the queue: a
        write then queues without waking this thread (a wake-up per write cost the event loop
        more than the write itself on a busy machine)."""
        batch = [self._queue.get()]
        if isinstance(batch[0], _Pending):
            self._waited_for.wait(GROUP_COMMIT_SECONDS)
        self._waited_for.clear()  # a task queued from here on is in the queue: drained below
        while len(batch) < BATCH_SIZE:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._shared_lock if self._in_memory else contextlib.nullcontext():
            yield self._writer_conn

    def _commit(self, pending: list[_Pending]) -> None:
        if not pending:
            return
        with self._writing() as conn:
            try:
                self._transaction(conn, pending)
            except Exception:  # noqa: BLE001 - any failure: the writes are retried one by one below
                log.warning("a batch of %d store writes failed; writing them one by one", len(pending))
                # One bad record must not take the rest of its batch with it.
                for item in pending:
                    try:
                        self._transaction(conn, [item])
                    except Exception:
                        log.exception("store write %s dropped", item.write.__name__)
                        if item.transcript:
                            self._dropped.add(item.session_id)
        self._committed = pending[-1].number

    def _transaction(self, conn: sqlite3.Connection, pending: list[_Pending]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for item in pending:
                if item.transcript and item.session_id in self._dropped:
                    continue  # it builds on a dropped turn: the session stays as committed until that is reported
                item.write(conn, item.payload)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _run_task(self, task: _Task) -> None:
        if task.run is None:  # a flush: the writes before it are committed, no transaction of its own
            task.done.set_result(None)
            return
        with self._writing() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                result = task.run(conn)
                conn.execute("COMMIT")
            except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                task.done.set_exception(exc)
                return
        task.done.set_result(result)

    # ------------------------------------------------------------ read side

    async def list_sessions(self, limit: int | None = 50, offset: int = 0, since: float | None = None) -> list[Row]:
        return await self._read(partial(reads.list_sessions, limit=limit, offset=offset, since=since))

    async def get_session(self, session_id: str) -> Row | None:
        return await self._read(partial(reads.get_session, session_id=session_id), session_id)

    async def transcript(self, session_id: str, branch: int | None = None) -> list[Row]:
        return await self._read(partial(reads.transcript, session_id=session_id, branch=branch), session_id)

    async def table(self, name: str, session_id: str | None = None) -> Columns:
        if name not in TABLES:
            raise ValueError(f"no table {name!r}; tables: {', '.join(TABLES)}")
        return await self._read(partial(reads.table, name=name, session_id=session_id), session_id)

    async def table_page(
        self, name: str, session_id: str | None = None, *, after: int | None = None, limit: int
    ) -> tuple[Columns, int | None]:
        if name not in TABLES:
            raise ValueError(f"no table {name!r}; tables: {', '.join(TABLES)}")
        return await self._read(partial(reads.table_page, name=name, session_id=session_id, after=after, limit=limit), session_id)

    async def clients(self) -> list[Row]:
        return await self._read(reads.clients)

    async def attempts(self, session_id: str | None = None) -> list[Row]:
        return await self._read(partial(reads.attempts, session_id=session_id), session_id)

    async def events(self, session_id: str | None = None) -> list[Row]:
        return await self._read(partial(reads.events, session_id=session_id), session_id)

    async def sitreps(self, session_id: str | None = None) -> list[Row]:
        return await self._read(partial(reads.sitreps, session_id=session_id), session_id)

    async def get_response(self, response_id: str) -> Row | None:
        return await self._read(partial(reads.response, response_id=response_id))

    async def session_messages(self, session_id: str) -> list[Row]:
        view = await self.transcript(session_id)
        return [{"seq": t["seq"], "branch": t["branch"], "role": t["role"], "content": t["content"]} for t in view]

    async def _read(self, query: Callable[[sqlite3.Connection], T], session_id: str | None = None) -> T:
        """Run ``query`` on a reader thread, once the queued writes it could see (those of
        ``session_id``, or all when None) are committed."""
        if self._closed:
            raise RuntimeError("the store is closed")
        last_write = self._queued if session_id is None else self._last_write.get(session_id, 0)
        if last_write > self._committed:
            await self.flush()
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._run_read, query)

    def _run_read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._reading() as conn:
            conn.execute("BEGIN")  # one snapshot for all the queries of this read
            try:
                return query(conn)
            finally:
                conn.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if self._in_memory:
            with self._shared_lock:
                yield self._writer_conn
            return
        conn = getattr(self._reader_local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            self._reader_local.conn = conn
            self._reader_conns.append(conn)
        yield conn
