"""Checkpoints of the SQLite store's WAL, on a thread of their own instead of in a turn's commit.

SQLite checkpoints a WAL file in the commit that takes it past ``wal_autocheckpoint`` pages (1000 by
default): with ``synchronous=NORMAL`` that commit then also syncs the WAL and the database file to
disk, a few milliseconds on which the turn it acknowledges waits (one commit in about 120 of a
proxied turn's). Here the writer's connection only checkpoints past a far larger backstop, and this
thread, on its own connection, runs a PASSIVE checkpoint every ``CHECKPOINT_COMMITS`` commits:
it copies what is committed into the database file while the writer goes on committing (a
PASSIVE checkpoint takes no lock a writer waits for), so no acknowledgement waits for the disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Commits between two checkpoints: a turn's commit adds about 8 pages to the WAL, so about
#: SQLite's default of 1000 pages.
CHECKPOINT_COMMITS = 120
#: Pages past which the writer's own commit checkpoints anyway (SQLite's automatic checkpoint), should
#: the WAL grow faster than this thread empties it (large batches): about 40 MB.
BACKSTOP_PAGES = 10_000


class Checkpointer:
    """A thread that checkpoints the WAL when ``committed`` has been called ``CHECKPOINT_COMMITS``
    times; ``close`` stops it (after a checkpoint still running)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._conn = connect()
        self._commits = 0
        self._due = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="trooper-store-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Count a commit of the writer's connection (by the writer thread or, inline, the event loop:
        never both at once)."""
        self._commits += 1
        if self._commits >= CHECKPOINT_COMMITS:
            self._commits = 0
            self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if self._closing:
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # busy or failing disk: the next one (or the backstop) catches up
                log.warning("checkpointing the store's WAL failed: %s", exc)

    def close(self) -> None:
        self._closing = True
        self._due.set()
        self._thread.join()
        self._conn.close()
