"""The SQLite store: one WAL file, one writer thread, reads in a small thread pool.

The queueing and group commits are ``QueuedStore``'s. With WAL and ``synchronous=NORMAL`` a
committed transaction survives the process being killed; only a power loss can take the last
few.

Readers on a file have their own connections (WAL lets them read while the writer writes). An
in-memory database (``:memory:``, for tests) exists only inside its one connection, so there the
writer and the readers share it under a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

from trooper.store import sqlite_reads, sqlite_writes
from trooper.store.base import Row
from trooper.store.queued import Pending, QueuedStore
from trooper.store.schema import migrate
from trooper.store.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer
from trooper.store.statements import ReadQueries, WriteStatements

T = TypeVar("T")
#: How long a connection waits for another process's write lock before it fails.
BUSY_TIMEOUT_MS = 10_000


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: transactions are explicit; check_same_thread=False: a connection is
    # created in one thread and used (never concurrently) in another.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class SqliteStore(QueuedStore):
    writes: WriteStatements = sqlite_writes
    reads: ReadQueries = sqlite_reads

    def __init__(self, path: str) -> None:
        self.path = path
        self._in_memory = path == ":memory:"
        if not self._in_memory:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._writer_conn = _connect(path)
        migrate(self._writer_conn)
        #: Checkpoints the WAL off the writer's commits (an in-memory database has no WAL).
        self._checkpointer: Checkpointer | None = None
        if not self._in_memory:
            self._writer_conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            self._checkpointer = Checkpointer(partial(_connect, path))
        self._shared_lock = threading.Lock()
        self._reader_local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        # A file's commit waits on nothing but its statements and the WAL's write (no sync: the
        # checkpoints have their own thread), so the event loop may run it; an in-memory database's
        # would wait for a reader holding the connection.
        self.commits_inline = not self._in_memory
        super().__init__()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._shared_lock if self._in_memory else contextlib.nullcontext():
            yield self._writer_conn

    def _transaction(self, pending: list[Pending]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            batch = sqlite_writes.Batch(conn)
            for item in pending:
                item.write(batch, item.payload)
            batch.finish()

        self._run_in_transaction(run)

    def _begin_inline(self) -> bool:
        # Take the write lock only if it is free: SQLite would otherwise wait up to the busy
        # timeout for another process's transaction, and the event loop with it.
        conn = self._writer_conn
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked
            return False
        finally:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return True

    def _run_in_transaction(self, run: Callable[[sqlite3.Connection], T]) -> T:
        with self._writing() as conn:
            if not conn.in_transaction:  # (an inline commit's began in ``_begin_inline``)
                conn.execute("BEGIN IMMEDIATE")
            try:
                result = run(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if self._checkpointer is not None:
            self._checkpointer.committed()
        return result

    def watch(self, publish: Callable[[Row], None], loop: asyncio.AbstractEventLoop) -> None:
        """Nothing to watch: one process writes a SQLite file, and it publishes its own changes."""

    def _release(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        for conn in [*self._reader_conns, self._writer_conn]:
            conn.close()

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
