"""What every store shares: writes queued and committed in groups by one writer thread, reads run
in a small thread pool once the writes they could see are committed.

Writes are queued and the writer thread commits them in groups: after a write it waits
``GROUP_COMMIT_SECONDS`` for more, so a turn's writes (its history, attempts and answer) share one
commit, made after the answer has gone out rather than while the proxy is answering. A read waits
for the queued writes it could see, so every read sees every write made before it.

The event loop hands what it queued to the writer once per loop iteration, in one piece: at
most one wake-up of the writer for the writes and flushes of every turn the iteration handled
(under many clients several turns finish in one iteration, and each waited for its commit with a
hand-over of its own). The writer commits all the writes it took in one transaction, then answers
the flushes among them.

A store may commit on the event loop's thread instead (``commits_inline``): a hand-over holding a
flush, made while the writer thread is not committing, is committed there at once, with the writes
the writer was gathering. Waking the writer and then the loop again cost an acknowledged turn more
than the commit's own statements on a busy 2-core machine (bench/README.md); while the writer
commits, flushes still queue for it and share its next commit.

A store built on this says how to run a group of writes in one transaction, a task in one
transaction and a read in one snapshot, and names the modules holding its SQL: ``writes`` (one
function per write, of a connection and a record) and ``reads`` (one function per query), typed by
the Protocols of ``trooper.store.statements``.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple, TypeVar

from trooper.store.base import TABLES, Columns, Row, Store, StoreWriteError
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
from trooper.store.statements import ReadQueries, WriteStatements

log = logging.getLogger(__name__)

T = TypeVar("T")
#: A write: runs one record's SQL on the writer's connection, inside the batch's transaction.
Write = Callable[[Any, Any], None]


class Pending(NamedTuple):
    """A queued write: what runs, its record, its number in the queue, the session it belongs to."""

    write: Write
    payload: Any
    number: int
    session_id: str
    #: One a turn's acknowledgement waits for (the session's row, its turns, a kept response): when
    #: it is dropped, ``flush(session_id)`` says so. Attempts, events and SITREPs are the routing's
    #: records: a turn does not fail for them.
    transcript: bool
    #: What this write changed, as a live-feed update (``{"type": "turn", "session_id": …}``), for
    #: a store that tells other processes of its commits; None for a change nobody watches.
    change: Row | None


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
    flush has nothing to run (``run`` None): it only waits for the writes queued before it, and
    is answered once those and the rest of the writer's batch are committed. ``done`` is settled
    on its loop's thread (``_settle``), from the writer by one ``call_soon_threadsafe`` per batch."""

    def __init__(self, run: Callable[[Any], Any] | None) -> None:
        self.run = run
        self.loop = asyncio.get_running_loop()
        self.done: asyncio.Future[Any] = self.loop.create_future()


def _settle(outcomes: list[tuple[_Task, Any, BaseException | None]]) -> None:
    """Give each task its result or its error (on the tasks' loop; a caller gone is skipped)."""
    for task, result, error in outcomes:
        if task.done.cancelled():
            continue
        if error is None:
            task.done.set_result(result)
        else:
            task.done.set_exception(error)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _report(outcomes: list[tuple[_Task, Any, BaseException | None]]) -> None:
    """Hand ``outcomes`` to their tasks' loops, one call per loop (from the writer's thread), or
    settle them at once on their own loop (committed inline)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Task, Any, BaseException | None]]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    here = _running_loop()  # None on the writer's thread
    for loop, settled in by_loop.items():
        if loop is here:
            _settle(settled)
            continue
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that loop is closed: nobody waits any more
            pass


_STOP = object()


def _change(kind: str, session_id: str) -> Row:
    # The live feed's update shapes (the session service publishes the same in its own process).
    return {"type": kind, "session_id": session_id}


class QueuedStore(Store):
    #: The dialect's module of write functions (``upsert_session``, ``add_turns``… and ``prune``).
    writes: WriteStatements
    #: The dialect's module of read queries (``list_sessions``, ``transcript``, ``table``…).
    reads: ReadQueries

    #: Whether a hand-over holding a flush may be committed on the event loop's thread when the
    #: writer thread is not committing (a store whose commit never waits on the network or a sync).
    commits_inline = False

    def __init__(self) -> None:
        self._readers = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="trooper-store-read")
        #: Guards what is handed to the writer thread, and tells it when to stop waiting.
        self._handing = threading.Condition(threading.Lock())
        #: Handed over, in order, and not yet taken by the writer; whether a task or the stop is
        #: among them (someone waits: the writer stops gathering); whether the writer is committing
        #: what it took.
        self._handed: list[Any] = []
        self._handed_waited_for = False
        self._writer_busy = False
        #: The end of the window in which writes nobody waits for stay handed over, unwoken, for
        #: a flush committed inline to take (``commits_inline``); None when no window is open.
        self._gathered_due: asyncio.TimerHandle | None = None
        #: What this loop iteration queued so far, handed over by ``_hand_over`` at the next one,
        #: and whether a task is among it (the writer must not wait for more).
        self._outbox: list[Any] = []
        self._outbox_waited_for = False
        #: The loop a hand-over is scheduled on (one that ended before running it does not count).
        self._hand_over_loop: asyncio.AbstractEventLoop | None = None
        # Writes are numbered as they are queued; the writer publishes the number of the last one
        # it committed. Only the event loop's thread queues writes and reads these counters.
        self._queued = 0
        self._committed = 0
        self._last_write: dict[str, int] = {}
        #: Sessions whose writes were dropped (→ the number of the first one), until a ``flush`` for
        #: that session asked for after it reports it.
        self._dropped: dict[str, int] = {}
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="trooper-store-writer", daemon=True)
        self._writer.start()

    # ------------------------------------------------------------ what a store provides

    @abc.abstractmethod
    def _transaction(self, pending: list[Pending]) -> None:
        """Run these writes in one transaction: all committed, or none (and raise)."""

    @abc.abstractmethod
    def _run_in_transaction(self, run: Callable[[Any], T]) -> T:
        """Run a task (``prune``) on the writer's connection in a transaction of its own."""

    @abc.abstractmethod
    def _run_read(self, query: Callable[[Any], T]) -> T:
        """Run a query on a reader thread's connection, all its statements in one snapshot."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Close the connections, once the writer and the readers have stopped."""

    # ------------------------------------------------------------ write side

    def _enqueue(
        self, write: Write, payload: Any, session_id: str, change: Row | None, *, transcript: bool = False
    ) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        self._queued += 1
        if len(self._last_write) >= PENDING_SESSIONS_KEPT:
            self._last_write = {k: n for k, n in self._last_write.items() if n > self._committed}
        self._last_write[session_id] = self._queued
        self._to_writer(Pending(write, payload, self._queued, session_id, transcript, change))

    def _to_writer(self, item: Any) -> None:
        """Queue ``item`` for the writer, in the outbox handed over at the next loop iteration (at
        once without a running loop, or when the outbox holds a batch's worth)."""
        self._outbox.append(item)
        if not isinstance(item, Pending):
            self._outbox_waited_for = True
        if len(self._outbox) >= BATCH_SIZE:
            self._hand_over()
        else:
            self._schedule_hand_over()

    def _schedule_hand_over(self) -> None:
        loop = _running_loop()
        if loop is None:  # called outside the event loop (a script): nothing to gather with
            self._hand_over()
            return
        if self._hand_over_loop is not loop:
            self._hand_over_loop = loop
            loop.call_soon(self._hand_over)

    def _hand_over(self) -> None:
        """Give the writer the outbox; with a task in it, the writer stops gathering. Or commit it
        here, with what the writer gathers (``commits_inline``)."""
        self._hand_over_loop = None
        items, waited_for = self._outbox, self._outbox_waited_for
        if not items:
            return
        self._outbox, self._outbox_waited_for = [], False
        inline = waited_for and self.commits_inline and all(isinstance(i, Pending) or i.run is None for i in items)
        loop = _running_loop()
        # Writes nobody waits for, on a store that commits inline, do not wake the writer (waking
        # it cost the event loop more than the write): they wait in the hand-over for a flush to
        # take them along, or for the end of ``GROUP_COMMIT_SECONDS``, then go to the writer.
        deferred = not waited_for and self.commits_inline and loop is not None
        with self._handing:
            # Not while the writer commits, or was woken for a task: what it takes must not pass
            # the writes before it.
            if inline and not self._writer_busy and not self._handed_waited_for:
                batch, self._handed = self._handed + items, []
            else:
                batch = None
                first = not self._handed
                self._handed.extend(items)
                self._handed_waited_for = self._handed_waited_for or waited_for
                if waited_for or (first and not deferred):  # the writer waits for a first item, or a task
                    self._handing.notify()
        if deferred and loop is not None and self._gathered_due is None:
            self._gathered_due = loop.call_later(GROUP_COMMIT_SECONDS, self._gathering_over)
        if batch is None:
            return
        if any(isinstance(item, Pending) for item in batch) and not self._begin_inline():
            # Another process holds the database's write lock: the loop must not wait for it, so
            # the batch goes to the writer thread, which waits, ahead of anything handed over since.
            self._hand_to_writer(batch, ahead=True)
            return
        self._handle(batch)

    def _hand_to_writer(self, items: list[Any], *, ahead: bool = False) -> None:
        """Give the writer ``items`` someone waits for, whatever it is doing (``ahead``: before
        what is handed over already)."""
        with self._handing:
            if ahead:
                self._handed[:0] = items
            else:
                self._handed.extend(items)
            self._handed_waited_for = True
            self._handing.notify()

    def _begin_inline(self) -> bool:
        """Begin the transaction of a commit on the event loop if that needs no waiting; False
        leaves the commit to the writer thread (a store that ``commits_inline`` says how)."""
        raise NotImplementedError

    def _gathering_over(self) -> None:
        """The window of deferred writes is over: the writer takes what no flush took, at once."""
        self._gathered_due = None
        with self._handing:
            if self._handed and not self._handed_waited_for:
                self._handed_waited_for = True
                self._handing.notify()

    def upsert_session(self, session: SessionRecord) -> None:
        self._enqueue(self.writes.upsert_session, session, session.id, _change("session", session.id), transcript=True)

    def set_route(self, session_id: str, route: str) -> None:
        self._enqueue(self.writes.set_route, (session_id, route, time.time()), session_id, _change("session", session_id))

    def add_turns(self, turns: list[TurnRecord]) -> None:
        if turns:
            session_id = turns[0].session_id
            self._enqueue(self.writes.add_turns, list(turns), session_id, _change("turn", session_id), transcript=True)

    def add_attempt(self, attempt: AttemptRecord) -> None:
        self._enqueue(self.writes.add_attempt, attempt, attempt.session_id, _change("attempt", attempt.session_id))

    def add_event(self, event: EventRecord) -> None:
        change = {**_change("event", event.session_id), "kind": event.kind}
        self._enqueue(self.writes.add_event, event, event.session_id, change)

    def add_sitrep(self, sitrep: SitrepRecord) -> None:
        self._enqueue(self.writes.add_sitrep, sitrep, sitrep.session_id, _change("sitrep", sitrep.session_id))

    def add_response(self, response: ResponseRecord) -> None:
        self._enqueue(self.writes.add_response, response, response.session_id, None, transcript=True)

    def add_thread(self, thread: ThreadRecord) -> None:
        self._enqueue(self.writes.add_thread, thread, thread.session_id, None, transcript=True)

    def add_compaction(self, compaction: CompactionRecord) -> None:
        self._enqueue(self.writes.add_compaction, compaction, compaction.session_id, None, transcript=True)

    async def flush(self, session_id: str | None = None) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")
        position = self._queued
        await self._submit(None)
        # Writes queued after this call share its flush: one of them dropped is for a later flush.
        if session_id is not None and self._dropped.get(session_id, position + 1) <= position:
            del self._dropped[session_id]
            raise StoreWriteError(f"writes of session {session_id!r} could not be committed (see the log)")

    async def prune(self, older_than_days: float) -> int:
        pruned: int = await self._submit(partial(self.writes.prune, older_than_days=older_than_days))
        return pruned

    async def _submit(self, run: Callable[[Any], T] | None) -> T:
        if self._closed:
            raise RuntimeError("the store is closed")
        task = _Task(run)
        self._to_writer(task)
        result: T = await task.done
        return result

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._hand_over()
        self._hand_to_writer([_STOP])  # the writer commits everything handed over before it, then stops
        await asyncio.to_thread(self._writer.join)
        await asyncio.to_thread(self._readers.shutdown)
        self._release()

    def _write_loop(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                if self._handle(batch):
                    return
            finally:
                with self._handing:
                    self._writer_busy = False

    def _handle(self, batch: list[Any]) -> bool:
        """Commit the writes of ``batch``, run its tasks where they stand and answer its flushes;
        True at the stop."""
        pending: list[Pending] = []
        flushes: list[_Task] = []
        for item in batch:
            if isinstance(item, Pending):
                pending.append(item)
            elif item is not _STOP and item.run is None:
                # A flush waits for the writes before it; those after it in the batch share
                # their commit (one transaction instead of two).
                flushes.append(item)
            else:  # the stop, or a task that must see exactly the writes queued before it
                self._commit(pending)
                pending = []
                self._answer(flushes)
                flushes = []
                if item is _STOP:
                    return True
                self._run_task(item)
        self._commit(pending)
        self._answer(flushes)
        return False

    def _next_batch(self) -> list[Any]:
        """The next items to handle: after writes, what is handed over within
        ``GROUP_COMMIT_SECONDS`` or until a task or a stop is (someone waits for those), up to
        ``BATCH_SIZE``; the writer is then busy until it has handled them.

        While gathering, the writer is woken only by a task, not by each hand-over of writes (a
        wake-up per write cost the event loop more than the write itself on a busy machine). What
        it gathers stays handed over, not taken, so a hand-over committed inline takes it along."""
        with self._handing:
            while True:
                while not self._handed:
                    self._handing.wait()
                deadline = time.monotonic() + GROUP_COMMIT_SECONDS
                while self._handed and not self._handed_waited_for and (left := deadline - time.monotonic()) > 0:
                    self._handing.wait(left)
                if self._handed:  # (unless the event loop committed them meanwhile: wait for more)
                    break
            batch, self._handed = self._handed[:BATCH_SIZE], self._handed[BATCH_SIZE:]
            self._handed_waited_for = any(not isinstance(item, Pending) for item in self._handed)
            self._writer_busy = True
        return batch

    def _commit(self, pending: list[Pending]) -> None:
        if not pending:
            return
        try:
            self._transaction(self._still_wanted(pending))
        except Exception:  # noqa: BLE001 - any failure: the writes are retried one by one below
            log.warning("a batch of %d store writes failed; writing them one by one", len(pending))
            # One bad record must not take the rest of its batch with it.
            for item in pending:
                try:
                    self._transaction(self._still_wanted([item]))
                except Exception:
                    log.exception("store write %s dropped", item.write.__name__)
                    if item.transcript:
                        self._dropped.setdefault(item.session_id, item.number)
        self._committed = pending[-1].number

    def _still_wanted(self, pending: list[Pending]) -> list[Pending]:
        # A transcript write that builds on a dropped one is skipped: the session stays as
        # committed until that is reported.
        return [item for item in pending if not (item.transcript and item.session_id in self._dropped)]

    @staticmethod
    def _answer(flushes: list[_Task]) -> None:
        """Answer flushes whose writes are committed (a flush runs no transaction of its own)."""
        if flushes:
            _report([(flush, None, None) for flush in flushes])

    def _run_task(self, task: _Task) -> None:
        assert task.run is not None, "flushes are answered by _answer"
        try:
            result = self._run_in_transaction(task.run)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting caller
            _report([(task, None, exc)])
            return
        _report([(task, result, None)])

    # ------------------------------------------------------------ read side

    async def list_sessions(self, limit: int | None = 50, offset: int = 0, since: float | None = None) -> list[Row]:
        return await self._read(partial(self.reads.list_sessions, limit=limit, offset=offset, since=since))

    async def get_session(self, session_id: str) -> Row | None:
        return await self._read(partial(self.reads.get_session, session_id=session_id), session_id)

    async def transcript(self, session_id: str, branch: int | None = None) -> list[Row]:
        return await self._read(partial(self.reads.transcript, session_id=session_id, branch=branch), session_id)

    async def table(self, name: str, session_id: str | None = None) -> Columns:
        if name not in TABLES:
            raise ValueError(f"no table {name!r}; tables: {', '.join(TABLES)}")
        return await self._read(partial(self.reads.table, name=name, session_id=session_id), session_id)

    async def table_page(
        self, name: str, session_id: str | None = None, *, after: int | None = None, limit: int
    ) -> tuple[Columns, int | None]:
        if name not in TABLES:
            raise ValueError(f"no table {name!r}; tables: {', '.join(TABLES)}")
        return await self._read(
            partial(self.reads.table_page, name=name, session_id=session_id, after=after, limit=limit), session_id
        )

    async def clients(self) -> list[Row]:
        return await self._read(self.reads.clients)

    async def attempts(self, session_id: str | None = None) -> list[Row]:
        return await self._read(partial(self.reads.attempts, session_id=session_id), session_id)

    async def events(self, session_id: str | None = None) -> list[Row]:
        return await self._read(partial(self.reads.events, session_id=session_id), session_id)

    async def sitreps(self, session_id: str | None = None) -> list[Row]:
        return await self._read(partial(self.reads.sitreps, session_id=session_id), session_id)

    async def get_response(self, response_id: str) -> Row | None:
        return await self._read(partial(self.reads.response, response_id=response_id))

    async def get_thread(self, message_id: str) -> Row | None:
        return await self._read(partial(self.reads.thread, message_id=message_id))

    async def compacted_session(self, key: str) -> str | None:
        return await self._read(partial(self.reads.compacted_session, key=key))

    async def session_messages(self, session_id: str) -> list[Row]:
        view = await self.transcript(session_id)
        return [{"seq": t["seq"], "branch": t["branch"], "role": t["role"], "content": t["content"]} for t in view]

    async def _read(self, query: Callable[[Any], T], session_id: str | None = None) -> T:
        """Run ``query`` on a reader thread, once the queued writes it could see (those of
        ``session_id``, or all when None) are committed."""
        if self._closed:
            raise RuntimeError("the store is closed")
        last_write = self._queued if session_id is None else self._last_write.get(session_id, 0)
        if last_write > self._committed:
            await self.flush()
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._run_read, query)
