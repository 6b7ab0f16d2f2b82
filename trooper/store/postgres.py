"""The PostgreSQL store (``TROOPER_DB=postgresql://…``): the SQLite store's interface and group
commits, on a database that several replicas share.

The queueing is ``QueuedStore``'s: the request path only enqueues, one writer thread commits each
group of writes in one transaction (its rows one statement, postgres_writes.py: one round trip per
group, not per record), and reads run in a small thread pool on connections of their own, each read one
REPEATABLE READ snapshot. Transactions from several replicas touching the same sessions can
deadlock; PostgreSQL then aborts one, and its group is run again.

What the store writes is made safe under concurrency by the database, not by this process: turns
are upserted on their key (session, branch, seq), so two replicas storing the same resent history
at the same moment leave each message once and in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg import IsolationLevel
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from trooper.store import postgres_reads, postgres_writes
from trooper.store.base import Row, StoreUnavailable
from trooper.store.health import SharedHealth
from trooper.store.postgres_health import SEEN_SECONDS, PostgresHealth
from trooper.store.postgres_schema import REPLICA_MIGRATIONS, REPLICA_SCHEMA_TABLE, migrate, schema_version
from trooper.store.queued import READER_THREADS, Pending, QueuedStore
from trooper.store.statements import ReadQueries, WriteStatements

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How many times a group of writes is run again after PostgreSQL aborted it (a deadlock with
#: another replica's group, a serialization failure) before it counts as failed.
RETRIES = 5
#: How long opening the store waits for the database (a replica may start before it).
CONNECT_SECONDS = 10.0
#: The channel each commit's changes are announced on, for the other replicas' live views.
CHANGES_CHANNEL = "trooper_changes"
#: Room for the changes in one notice (PostgreSQL refuses a payload of 8000 bytes or more).
NOTICE_BYTES = 7000
#: How often the listener looks up from waiting for notices to see whether the store closed.
LISTEN_POLL_SECONDS = 0.5


def change_notices(replica: str, changes: list[Row]) -> list[str]:
    """The NOTIFY payloads announcing ``changes`` (each once), each under PostgreSQL's 8000-byte limit."""
    unique = list(dict.fromkeys(json.dumps(change, ensure_ascii=False, sort_keys=True) for change in changes))
    notices: list[str] = []
    chunk: list[str] = []
    size = 0
    for change in unique:
        length = len(change.encode()) + 2  # and its ", "
        if chunk and size + length > NOTICE_BYTES:
            notices.append(_notice(replica, chunk))
            chunk, size = [], 0
        chunk.append(change)
        size += length
    if chunk:
        notices.append(_notice(replica, chunk))
    return notices


def _notice(replica: str, changes: list[str]) -> str:
    return f'{{"from": "{replica}", "changes": [{", ".join(changes)}]}}'


def unavailable(url: str, exc: psycopg.Error) -> StoreUnavailable:
    """``exc`` as a StoreUnavailable: its first line, the URL's password (should it appear) masked."""
    password = urlsplit(url).password
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StoreUnavailable(message.replace(password, "***") if password else message)


def database_schema_version(url: str, timeout: float) -> int:
    """The schema version of the database ``url`` names (0 when Trooper never wrote to it)."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(timeout))) as conn:
            return schema_version(conn)
    except psycopg.Error as exc:
        raise unavailable(url, exc) from None


class ReplicaSeen(NamedTuple):
    label: str
    pid: int
    #: Seconds since its last heartbeat, and since it started, by the database's clock.
    seen_ago: float
    up_for: float


def replicas_seen(url: str, timeout: float, within: float = SEEN_SECONDS) -> list[ReplicaSeen]:
    """The replicas sharing the database ``url`` names whose heartbeat is at most ``within``
    seconds old, longest running first (none when no replica ever ran on it)."""
    now = "extract(epoch from clock_timestamp())"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=max(1, round(timeout))) as conn:
            if conn.execute("SELECT to_regclass('replicas')").fetchone()[0] is None:  # type: ignore[index]
                return []
            rows = conn.execute(
                f"SELECT label, pid, {now} - seen_at, {now} - started_at FROM replicas WHERE seen_at >= {now} - %s "
                "ORDER BY started_at, label",
                (within,),
            ).fetchall()
    except psycopg.Error as exc:
        raise unavailable(url, exc) from None
    return [ReplicaSeen(label, pid, float(seen), float(up)) for label, pid, seen, up in rows]


class PostgresStore(QueuedStore):
    writes: WriteStatements = postgres_writes
    reads: ReadQueries = postgres_reads
    shared = True

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=int(CONNECT_SECONDS)) as conn:
                migrate(conn)
                migrate(conn, REPLICA_MIGRATIONS, REPLICA_SCHEMA_TABLE)
        except psycopg.OperationalError as exc:  # unreachable, refused, wrong password
            raise unavailable(url, exc) from None
        self._writer_pool = ConnectionPool(url, min_size=1, max_size=1, kwargs={"autocommit": True},
                                           configure=_commit_without_waiting_for_disk, open=False, name="trooper-store-writer")
        self._reader_pool = ConnectionPool(url, min_size=1, max_size=READER_THREADS, kwargs={"autocommit": True},
                                           configure=_read_only, open=False, name="trooper-store-read")
        self._writer_pool.open(wait=True, timeout=CONNECT_SECONDS)
        self._reader_pool.open(wait=True, timeout=CONNECT_SECONDS)
        #: Names this process's notices, which its own listener skips.
        self.replica = uuid.uuid4().hex
        self._watching = threading.Event()
        self._listener: threading.Thread | None = None
        self._health = PostgresHealth(url, self.replica)
        super().__init__()

    def _transaction(self, pending: list[Pending]) -> None:
        group = postgres_writes.Group()
        for item in pending:
            item.write(group, item.payload)
        # Delivered to the other replicas' listeners when (and only if) this commits.
        notices = change_notices(self.replica, [item.change for item in pending if item.change is not None])
        rows, parameters = group.statement(CHANGES_CHANNEL, notices)

        def run(conn: Any) -> None:
            for statement, values in group.statements:
                conn.execute(statement, values)
            conn.execute(rows, parameters, prepare=True)

        if group.statements:  # session rows first, in order: then the rest, in one transaction
            self._run_in_transaction(run, pipelined=True)
        else:  # the rows alone: one statement is its own transaction
            self._on_writer(run)

    def _run_in_transaction(self, run: Callable[[Any], T], *, pipelined: bool = False) -> T:
        """``pipelined``: BEGIN, the statements and COMMIT go out together, one round trip in all
        (for writes, whose results nothing reads)."""

        def transaction(conn: Any) -> T:
            if not pipelined:
                with conn.transaction():
                    return run(conn)
            try:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    result = run(conn)
                    conn.execute("COMMIT")
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.rollback()
                raise
            return result

        return self._on_writer(transaction)

    def _on_writer(self, run: Callable[[Any], T]) -> T:
        """``run`` on the writer's connection (in autocommit: a statement alone is its own
        transaction), run again when PostgreSQL aborted it."""
        for attempt in range(RETRIES):
            try:
                with self._writer_pool.connection() as conn:
                    return run(conn)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if attempt == RETRIES - 1:
                    raise
                log.info("a store transaction was aborted by PostgreSQL (another replica's); running it again")
        raise AssertionError("unreachable")

    def _run_read(self, query: Callable[[Any], T]) -> T:
        with self._reader_pool.connection() as conn:
            return query(conn)

    def shared_health(self) -> SharedHealth:
        return self._health

    def _release(self) -> None:
        self._health.close()
        self._writer_pool.close()
        self._reader_pool.close()
        self._watching.set()  # stops the listener within a second
        if self._listener is not None:
            self._listener.join(LISTEN_POLL_SECONDS * 2)

    def watch(self, publish: Callable[[Row], None], loop: asyncio.AbstractEventLoop) -> None:
        """Other replicas' commits, as the live feed's updates: one connection LISTENs on
        ``CHANGES_CHANNEL`` (no polling of the tables); this store's own notices are skipped."""
        self._listener = threading.Thread(
            target=self._listen, args=(publish, loop), name="trooper-store-listen", daemon=True
        )
        self._listener.start()

    def _listen(self, publish: Callable[[Row], None], loop: asyncio.AbstractEventLoop) -> None:
        own = _notice(self.replica, [])[: -len("[]}")]
        while not self._watching.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=int(CONNECT_SECONDS)) as conn:
                    conn.execute(f"LISTEN {CHANGES_CHANNEL}")
                    while not self._watching.is_set():
                        for notice in conn.notifies(timeout=LISTEN_POLL_SECONDS):
                            # This replica's own notices (one each commit) are skipped unparsed.
                            if not notice.payload.startswith(own):
                                for update in json.loads(notice.payload)["changes"]:
                                    loop.call_soon_threadsafe(publish, update)
            except psycopg.Error as exc:  # the database restarted or is unreachable: listen again
                log.warning("listening for other replicas' changes failed (%s); again in 1 s", exc)
                self._watching.wait(1.0)
            except RuntimeError:  # the event loop closed: nobody is watching any more
                return


def _commit_without_waiting_for_disk(conn: psycopg.Connection[Any]) -> None:
    # The SQLite store's durability (synchronous=NORMAL): a commit survives this process being
    # killed (the server has it), and only a crash of the database server or its machine can lose
    # the last commits (up to three wal_writer_delay, 0.6 s by default), which the next resent turn
    # brings back. Waiting for the disk cost each acknowledged turn 2 ms here (bench/overhead.py).
    conn.execute("SET synchronous_commit = off")


def _read_only(conn: psycopg.Connection[Any]) -> None:
    # Every read is one consistent snapshot, as a SQLite read transaction is: a read of several
    # statements runs them in one such transaction (postgres_reads.py), a statement alone is one.
    conn.isolation_level = IsolationLevel.REPEATABLE_READ
    conn.read_only = True
