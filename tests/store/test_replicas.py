"""Two replicas on one PostgreSQL database: what the database itself keeps safe, and how each
hears of the other's commits.

Each replica is a store of its own (its own connections and writer thread, no lock shared with
the other), as two ``trooper serve`` processes are.
"""

from __future__ import annotations

import asyncio
import time

import psycopg

from tests.store.sample import text
from trooper.config import Settings
from trooper.store import open_store
from trooper.store.base import Store
from trooper.store.records import EventRecord, SessionRecord, TurnRecord

SESSIONS = [f"session-{i}" for i in range(8)]
TURNS = 40


def history(session_id: str) -> list[TurnRecord]:
    return [TurnRecord(session_id, seq, "user" if seq % 2 == 0 else "assistant", text(f"{session_id} #{seq}"))
            for seq in range(TURNS)]


async def resend_histories(store: Store, order: list[str]) -> None:
    """What a replica stores when every turn of every session resends the history so far."""
    for length in range(2, TURNS + 1, 2):
        for session_id in order:
            store.upsert_session(SessionRecord(session_id, "anthropic", client="Claude Code"))
            store.add_turns(history(session_id)[:length])
        await asyncio.sleep(0.002)  # the writers commit while the next turns queue
    for session_id in order:
        await store.flush(session_id)  # raises if a write of this session was dropped


async def test_the_same_resent_history_at_the_same_moment_is_stored_once_in_order(postgres_url: str) -> None:
    a, b = open_store(Settings(db_path=postgres_url)), open_store(Settings(db_path=postgres_url))
    try:
        # Opposite orders: the replicas' transactions lock the same sessions' rows in opposite orders.
        await asyncio.gather(resend_histories(a, SESSIONS), resend_histories(b, SESSIONS[::-1]))
        for session_id in SESSIONS:
            for replica in (a, b):
                turns = await replica.transcript(session_id)
                assert [(t["seq"], t["text"]) for t in turns] == [(seq, f"{session_id} #{seq}") for seq in range(TURNS)]
        assert sorted(s["id"] for s in await a.list_sessions(limit=None)) == sorted(SESSIONS), "no duplicate sessions"
    finally:
        await a.close()
        await b.close()
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT (session_id, seq)) FROM turns").fetchone() == (
            len(SESSIONS) * TURNS, len(SESSIONS) * TURNS)


async def test_consecutive_turns_on_alternating_replicas_read_the_same_everywhere(postgres_url: str) -> None:
    a, b = open_store(Settings(db_path=postgres_url)), open_store(Settings(db_path=postgres_url))
    try:
        turns = history("s")
        for turn in range(TURNS // 2):  # round-robin: turn n on replica n % 2, which flushes before answering
            replica = (a, b)[turn % 2]
            replica.upsert_session(SessionRecord("s", "openai"))
            replica.add_turns(turns[: 2 * turn + 2])
            await replica.flush("s")
        for replica in (a, b):
            assert [t["seq"] for t in await replica.transcript("s")] == list(range(TURNS))
            summary = await replica.get_session("s")
            assert summary is not None and summary["turn_count"] == TURNS
        assert await a.table("turns") == await b.table("turns")
    finally:
        await a.close()
        await b.close()


async def test_each_replica_hears_the_others_changes_not_its_own(postgres_url: str) -> None:
    a, b = open_store(Settings(db_path=postgres_url)), open_store(Settings(db_path=postgres_url))
    loop = asyncio.get_running_loop()
    heard: dict[str, list[dict[str, str]]] = {"a": [], "b": []}
    a.watch(heard["a"].append, loop)
    b.watch(heard["b"].append, loop)
    try:
        await asyncio.sleep(0.5)  # both listening
        # One group of writes announcing far more than one notice can carry (8000 bytes).
        many = [f"a-long-session-name-to-fill-the-notices-{i:04d}" for i in range(400)]
        for session_id in many:
            a.add_event(EventRecord(session_id, "fallback", {"to": "claude"}))
        a.add_turns([TurnRecord("s", 0, "user", text("hi"))])
        await a.flush()
        deadline = time.monotonic() + 5
        while len(heard["b"]) < len(many) + 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert sorted(u["session_id"] for u in heard["b"] if u == {"type": "event", "session_id": u["session_id"],
                                                                     "kind": "fallback"}) == many
        assert {"type": "turn", "session_id": "s"} in heard["b"]
        assert heard["a"] == [], "a replica's own changes are published by itself, not heard back"
    finally:
        await a.close()
        await b.close()
