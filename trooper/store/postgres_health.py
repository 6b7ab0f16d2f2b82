"""Provider health shared through PostgreSQL: a row per provider, a NOTIFY on each change, an
advisory lock per provider for its recovery probe, and a heartbeat row per replica.

One thread owns one connection and does all of it in order: it LISTENs on ``HEALTH_CHANNEL``
(the same pattern as the store's change listener), runs the commands the event loop queues
(record a change, take or let go of a probe's lock) and beats the heart. It sleeps until a notice
arrives, a command is queued (a byte on its wake-up pipe) or the heartbeat is due: an idle
replica costs no CPU polling. Doing them in order on
one connection is what makes a probe's result committed before its lock is let go: the next
replica to take the lock reads it, and does not probe again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import os
import queue
import select
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, NamedTuple

import psycopg

from trooper.store.health import ProbeClaim, ProviderHealth, SharedHealth, SharedState

log = logging.getLogger(__name__)

HEALTH_CHANNEL = "trooper_health"
#: The first key of the probes' advisory locks (the second is the provider name's hash): "TRPR".
PROBE_LOCK = 0x54525052
#: How long the thread waits for notices already on their way once it has none to read.
DRAIN_SECONDS = 0.001
HEARTBEAT_SECONDS = 5.0
#: How long closing waits for the thread to write what was queued and stop.
CLOSE_SECONDS = 2.0
#: A replica whose heartbeat is older than this is not listed as running (``trooper doctor``).
SEEN_SECONDS = 30.0
#: Heartbeat rows of replicas gone this long are deleted.
FORGET_SECONDS = 86400.0
#: How long taking a probe's lock may wait for the thread before this replica probes without it.
CLAIM_SECONDS = 5.0
CONNECT_SECONDS = 10

_NOW = "extract(epoch from clock_timestamp())"  # the database's clock: the replicas' only shared one


class _Record(NamedTuple):
    provider: str
    state: SharedState


class _Claim(NamedTuple):
    provider: str
    answer: concurrent.futures.Future[ProbeClaim]


class _Release(NamedTuple):
    provider: str


_Command = _Record | _Claim | _Release


class PostgresHealth(SharedHealth):
    def __init__(self, url: str, replica: str) -> None:
        self._url = url
        self._replica = replica
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Wakes the thread from waiting on the connection: a command was queued, or closing.
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._pipe_closed = False

    async def start(self, label: str, adopt: Callable[[ProviderHealth], None], loop: asyncio.AbstractEventLoop) -> None:
        loaded: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(label, adopt, loop, loaded), name="trooper-provider-health", daemon=True
        )
        self._thread.start()
        await asyncio.wrap_future(loaded)

    def record(self, provider: str, state: SharedState) -> None:
        self._queue(_Record(provider, state))

    def _queue(self, command: _Command) -> None:
        self._commands.put(command)
        self._wake()

    def _wake(self) -> None:
        if self._pipe_closed:
            return
        try:
            os.write(self._wake_write, b".")
        except BlockingIOError:
            pass  # the pipe is full of wake-ups already: the thread is awake

    def _woken(self) -> None:
        try:
            while os.read(self._wake_read, 4096):
                pass
        except BlockingIOError:
            pass  # emptied

    @asynccontextmanager
    async def claim_probe(self, provider: str) -> AsyncIterator[ProbeClaim]:
        answer: concurrent.futures.Future[ProbeClaim] = concurrent.futures.Future()
        self._queue(_Claim(provider, answer))
        try:
            claim = await asyncio.wait_for(asyncio.wrap_future(answer), CLAIM_SECONDS)
        except (asyncio.TimeoutError, psycopg.Error) as exc:
            # The database is out of reach: probing without the lock (as one replica alone
            # would) beats never bringing the provider back.
            log.warning("could not take the recovery probe's lock for %s (%s); probing without it", provider, exc)
            claim = ProbeClaim(True, None)
        try:
            yield claim
        finally:
            # Queued after whatever the probe recorded, so that is committed first. Always sent: a
            # claim that timed out here may still have taken the lock.
            self._queue(_Release(provider))

    def close(self) -> None:
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(CLOSE_SECONDS)
        if not self._pipe_closed and (self._thread is None or not self._thread.is_alive()):
            self._pipe_closed = True
            os.close(self._wake_read)
            os.close(self._wake_write)

    # ------------------------------------------------------------ the thread

    def _run(self, label: str, adopt: Callable[[ProviderHealth], None], loop: asyncio.AbstractEventLoop,
             loaded: concurrent.futures.Future[None]) -> None:
        def hand_over(health: ProviderHealth) -> None:
            loop.call_soon_threadsafe(adopt, health)

        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_SECONDS) as conn:
                    conn.execute(f"LISTEN {HEALTH_CHANNEL}")
                    # After a lost connection: this replica's own changes meanwhile first, so the
                    # states read next are not older than its own.
                    self._run_commands(conn)
                    # At start, and after a lost connection: what changed while nobody listened.
                    for health in _recorded(conn):
                        hand_over(health)
                    if not loaded.done():
                        loaded.set_result(None)
                    self._serve(conn, label, hand_over)
            except psycopg.Error as exc:
                if not loaded.done():  # the store opened a moment ago: serve with local breakers
                    loaded.set_result(None)
                log.warning("sharing provider health failed (%s); again in 1 s", exc)
                self._stopping.wait(1.0)
            except RuntimeError:  # the event loop closed: nobody is listening any more
                return

    def _serve(self, conn: psycopg.Connection[Any], label: str, hand_over: Callable[[ProviderHealth], None]) -> None:
        beat_due = 0.0
        try:
            while not self._stopping.is_set():
                if time.monotonic() >= beat_due:
                    self._heartbeat(conn, label)
                    beat_due = time.monotonic() + HEARTBEAT_SECONDS
                self._run_commands(conn)
                # Notices that came while a command ran (psycopg kept them) and any on the socket.
                for notice in conn.notifies(timeout=DRAIN_SECONDS):
                    message = json.loads(notice.payload)
                    if message["from"] != self._replica:
                        hand_over(ProviderHealth(message["provider"], message["state"], 0.0))
                # Then sleep until the database sends something, a command is queued, or the
                # heartbeat is due.
                waiting = max(0.0, beat_due - time.monotonic())
                if self._wake_read in select.select([conn.fileno(), self._wake_read], [], [], waiting)[0]:
                    self._woken()
            self._run_commands(conn)  # what was recorded before the store closed
            conn.execute("DELETE FROM replicas WHERE id = %s", (self._replica,))  # stopped: not running any more
        except psycopg.Error:
            self._fail_claims()
            raise

    def _run_commands(self, conn: psycopg.Connection[Any]) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            self._run_command(conn, command)

    def _run_command(self, conn: psycopg.Connection[Any], command: _Command) -> None:
        if isinstance(command, _Record):
            with conn.transaction():
                conn.execute(
                    f"INSERT INTO provider_health (provider, state, changed_at, replica) VALUES (%s, %s, {_NOW}, %s) "
                    "ON CONFLICT (provider) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at, "
                    "replica = excluded.replica",
                    (command.provider, command.state, self._replica),
                )
                payload = json.dumps({"from": self._replica, "provider": command.provider, "state": command.state})
                conn.execute("SELECT pg_notify(%s, %s)", (HEALTH_CHANNEL, payload))
        elif isinstance(command, _Claim):
            try:
                held = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (PROBE_LOCK, command.provider)).fetchone()
                latest = next((h for h in _recorded(conn, command.provider)), None) if held and held[0] else None
            except psycopg.Error as exc:
                _answer(command.answer, exc)
                raise
            _answer(command.answer, ProbeClaim(bool(held and held[0]), latest))
        else:
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (PROBE_LOCK, command.provider))

    def _heartbeat(self, conn: psycopg.Connection[Any], label: str) -> None:
        with conn.transaction():
            conn.execute(
                f"INSERT INTO replicas (id, label, pid, started_at, seen_at) VALUES (%s, %s, %s, {_NOW}, {_NOW}) "
                "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                (self._replica, label, os.getpid()),
            )
            conn.execute(f"DELETE FROM replicas WHERE seen_at < {_NOW} - %s", (FORGET_SECONDS,))

    def _fail_claims(self) -> None:
        """The connection is lost, and with it every lock it held: claims waiting get an error."""
        pending: list[_Command] = []
        while True:
            try:
                pending.append(self._commands.get_nowait())
            except queue.Empty:
                break
        for command in pending:
            if isinstance(command, _Claim):
                _answer(command.answer, psycopg.OperationalError("the connection sharing provider health was lost"))
            elif isinstance(command, _Record):
                self._commands.put(command)  # recorded once the connection is back


def _answer(future: concurrent.futures.Future[ProbeClaim], outcome: ProbeClaim | BaseException) -> None:
    """Answer a claim, unless its asker gave up waiting (the future was cancelled then)."""
    if not future.set_running_or_notify_cancel():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def _recorded(conn: psycopg.Connection[Any], provider: str | None = None) -> list[ProviderHealth]:
    rows = conn.execute(
        f"SELECT provider, state, {_NOW} - changed_at FROM provider_health WHERE %s::text IS NULL OR provider = %s",
        (provider, provider),
    ).fetchall()
    return [ProviderHealth(name, state, max(0.0, float(age))) for name, state, age in rows]
