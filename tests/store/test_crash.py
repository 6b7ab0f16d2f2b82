"""A process killed with SIGKILL mid-write leaves a readable store (a SQLite file, a PostgreSQL
database) with everything it committed, in whole groups."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import textwrap
from typing import Any

from trooper.config import Settings
from trooper.store import open_store

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from trooper.config import Settings
    from trooper.store import open_store
    from trooper.store.records import SessionRecord, TurnRecord

    async def main():
        store = open_store(Settings(db_path=sys.argv[1]))
        store.upsert_session(SessionRecord("s", "chat"))
        seq = 0
        while True:  # writes until killed
            store.add_turns([TurnRecord("s", seq + i, "user", [{"type": "text", "text": "x" * 200}]) for i in range(50)])
            seq += 50
            await store.flush()
            print(seq, flush=True)  # everything up to seq is committed

    asyncio.run(main())
    """
)


def test_sigkill_while_writing_keeps_every_committed_turn(durable_db: str) -> None:
    process = subprocess.Popen([sys.executable, "-c", WRITER, durable_db], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    committed = 0
    while committed < 2000:
        line = process.stdout.readline()
        assert line, "the writer process stopped on its own"
        committed = int(line)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    if not durable_db.startswith("postgresql:"):
        with sqlite3.connect(durable_db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    async def read() -> list[dict[str, Any]]:
        store = open_store(Settings(db_path=durable_db))
        try:
            return await store.transcript("s")
        finally:
            await store.close()

    turns = asyncio.run(read())
    assert len(turns) >= committed
    assert [t["seq"] for t in turns] == list(range(len(turns)))  # no holes: whole batches only
