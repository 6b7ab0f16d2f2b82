"""Every store (SQLite, PostgreSQL; fixtures in conftest.py): round trips, summaries, branches,
concurrency, durability, retention."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from tests.store.sample import T0, record_sample, text
from trooper.config import Settings
from trooper.store import StoreWriteError, open_store
from trooper.store import queued as queued_module
from trooper.store.queued import Pending, QueuedStore
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


async def test_session_summaries(store: QueuedStore) -> None:
    record_sample(store)
    await store.flush()
    beta, alpha = await store.list_sessions()
    assert alpha == {
        "id": "alpha",
        "parent_id": None,
        "source": "anthropic",
        "client": "Claude Code",
        "route": "local",
        "title": "first",
        "created_at": T0,
        "last_activity": T0 + 5,
        "intent": "learn about WAL",
        "first_words": "hello",
        "branch": 0,
        "turn_count": 4,
        "providers": {"ollama": 1, "claude": 1},
        "tokens_saved": 15,
        "cost_spent": pytest.approx(0.00022),
        "cost_avoided": pytest.approx(0.000035),
        "unpriced_turns": 0,
        "escalations": 1,
        "fallbacks": 1,
        "private": None,
    }
    assert beta["id"] == "beta/é?&<x>" and beta["providers"] == {"embedded": 1} and beta["tokens_saved"] == 8
    assert (beta["cost_spent"], beta["cost_avoided"], beta["unpriced_turns"]) == (0.0, 0.0, 1), "unpriced: counted, not guessed"
    assert beta["intent"] is None and beta["escalations"] == 0
    assert (beta["client"], beta["first_words"]) == ("", "ping")


async def test_paging_and_since(store: QueuedStore) -> None:
    record_sample(store)
    await store.flush()
    assert [s["id"] for s in await store.list_sessions(limit=1)] == ["beta/é?&<x>"]
    assert [s["id"] for s in await store.list_sessions(limit=1, offset=1)] == ["alpha"]
    assert await store.list_sessions(limit=5, offset=2) == []
    assert [s["id"] for s in await store.list_sessions(since=T0 + 50)] == ["beta/é?&<x>"]
    assert len(await store.list_sessions(limit=None)) == 2


async def test_get_session_has_latest_sitrep(store: QueuedStore) -> None:
    record_sample(store)
    await store.flush()
    session = await store.get_session("alpha")
    assert session is not None
    assert session["sitrep"] == {"intent": "learn about WAL", "open_loops": ["checkpointing"]}
    assert await store.get_session("nope") is None


async def test_transcript_round_trip(store: QueuedStore) -> None:
    record_sample(store)
    await store.flush()
    turns = await store.transcript("alpha")
    assert [t["seq"] for t in turns] == [0, 1, 2, 3]
    assert turns[1] == {
        "session_id": "alpha", "branch": 0, "seq": 1, "role": "assistant", "content": text("hi there"),
        "text": "hi there", "provider": "ollama", "model": "llama3.1:8b", "tokens_in": 10, "tokens_out": 5, "tokens_cached": 0,
        "tokens_saved": 15, "cost_spent": 0.0, "cost_avoided": 0.000035, "stop_reason": "end_turn", "tier": "local",
        "latency_ms": 120.0, "created_at": T0 + 2,
    }


async def test_dollars_per_client(store: QueuedStore) -> None:
    record_sample(store)
    store.upsert_session(SessionRecord("gamma", "anthropic", client="Claude Code"))
    store.add_turns([TurnRecord("gamma", 0, "assistant", text("ok"), "claude", "claude-haiku", 1, 1, cost_spent=0.001)])
    store.upsert_session(SessionRecord("delta", "openai"))  # no turns yet: counted, all zero
    await store.flush()
    assert await store.clients() == [
        {"client": "Claude Code", "sessions": 2, "tokens_saved": 15, "cost_spent": pytest.approx(0.00122),
         "cost_avoided": pytest.approx(0.000035), "unpriced_turns": 0},
        {"client": "openai", "sessions": 2, "tokens_saved": 8, "cost_spent": 0.0, "cost_avoided": 0.0, "unpriced_turns": 1},
    ]


async def test_resent_turns_are_not_duplicated(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("s", "openai"))
    store.add_turns([TurnRecord("s", 0, "user", text("a")), TurnRecord("s", 1, "assistant", text("b"))])
    store.add_turns([TurnRecord("s", 0, "user", text("a")), TurnRecord("s", 1, "assistant", text("b2"))])
    await store.flush()
    assert [t["text"] for t in await store.transcript("s")] == ["a", "b2"]


async def test_a_branch_borrows_the_turns_before_its_fork(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("s", "openai"))
    store.add_turns([TurnRecord("s", i, "user", text(f"old {i}")) for i in range(4)])
    # The client edited its second message: branch 1 forks at seq 1.
    store.add_turns([TurnRecord("s", i, "user", text(f"new {i}"), branch=1) for i in (1, 2)])
    await store.flush()
    assert [t["text"] for t in await store.transcript("s")] == ["old 0", "new 1", "new 2"]
    assert [t["text"] for t in await store.transcript("s", branch=0)] == ["old 0", "old 1", "old 2", "old 3"]
    assert await store.session_messages("s") == [
        {"seq": 0, "branch": 0, "role": "user", "content": text("old 0")},
        {"seq": 1, "branch": 1, "role": "user", "content": text("new 1")},
        {"seq": 2, "branch": 1, "role": "user", "content": text("new 2")},
    ]
    summary = await store.get_session("s")
    assert summary is not None and (summary["branch"], summary["turn_count"]) == (1, 3)


async def test_routes_change_only_through_set_route(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("s", "chat", route="cloud", title="t"))
    store.upsert_session(SessionRecord("s", "chat"))  # a later upsert with defaults
    await store.flush()
    session = await store.get_session("s")
    assert session is not None and (session["route"], session["title"]) == ("cloud", "t")
    store.set_route("s", "local")
    await store.flush()
    session = await store.get_session("s")
    assert session is not None and session["route"] == "local"


async def test_one_group_mixing_every_write_lands_as_if_written_one_by_one(store: QueuedStore) -> None:
    """A route set before the session row exists, a turn rewritten within the group (the last one
    wins), and numbers JSON cannot hold: the PostgreSQL store sends such a group as one document."""
    store.set_route("s", "cloud")  # the session row does not exist yet
    store.add_turns([TurnRecord("s", 0, "user", text("first draft"), created_at=T0 + 1)])
    store.add_turns([TurnRecord("s", 0, "user", text("q"), created_at=T0 + 2),
                     TurnRecord("s", 1, "assistant", text("a"), latency_ms=float("inf"), cost_spent=float("-inf"),
                                created_at=T0 + 3)])
    store.add_event(EventRecord("s", "fallback", {"from": "claude"}, created_at=T0 + 4))
    store.add_sitrep(SitrepRecord("s", {"intent": "x"}, turn_count=2, created_at=T0 + 5))
    store.add_response(ResponseRecord("resp_1", "s", 0, 1, '{"id": "resp_1", "draft": true}', created_at=T0 + 5))
    store.add_response(ResponseRecord("resp_1", "s", 0, 1, '{"id": "resp_1"}', created_at=T0 + 6))
    store.add_thread(ThreadRecord("msg_1", "s", 0, 0, created_at=T0 + 6))
    store.add_thread(ThreadRecord("msg_1", "s", 0, 1, created_at=T0 + 7))
    await store.flush("s")
    session = await store.get_session("s")
    assert session is not None and (session["route"], session["source"]) == ("cloud", "unknown")
    turns = await store.table("turns", "s")
    assert (turns["seq"], turns["text"]) == ([0, 1], ["q", "a"])
    assert (turns["latency_ms"][1], turns["cost_spent"][1]) == (float("inf"), float("-inf"))
    assert [e["kind"] for e in await store.events("s")] == ["fallback"]
    assert [s["turn_count"] for s in await store.sitreps("s")] == [2]
    assert (await store.get_response("resp_1"))["body"] == {"id": "resp_1"}  # type: ignore[index]
    assert await store.get_thread("msg_1") == {"session_id": "s", "branch": 0, "seq": 1}


async def test_values_are_stored_exactly_as_written(store: QueuedStore) -> None:
    """Floats at full precision, tiny and huge, and text with escapes, control characters and
    non-ASCII land bit for bit (the PostgreSQL store sends them inside one JSON document)."""
    odd = "é ☃ 𝄞 \\u00e9 \"quoted\" \t tab \x01 control, a backslash \\ and a NUL \x00 in the content"
    store.add_turns([TurnRecord("s", 0, "assistant", text(odd), "claude", "m", 3, 4, latency_ms=0.1 + 0.2,
                                created_at=T0 + 1 / 3, cost_spent=1e-07, cost_avoided=1.7976931348623157e308)])
    store.add_attempt(AttemptRecord("s", "claude", "m", 200, "direct", "ok", connect_ms=5e-324, total_ms=123456.789012345,
                                    created_at=T0 + 2 / 3))
    await store.flush("s")
    [turn] = await store.transcript("s")
    assert turn["content"] == text(odd)
    turns = await store.table("turns", "s")
    assert turns["text"] == [odd.replace("\x00", "") if store.shared else odd]
    assert (turns["latency_ms"], turns["created_at"]) == ([0.1 + 0.2], [T0 + 1 / 3])
    assert (turns["cost_spent"], turns["cost_avoided"]) == ([1e-07], [1.7976931348623157e308])
    [attempt] = await store.attempts("s")
    assert (attempt["connect_ms"], attempt["total_ms"], attempt["created_at"]) == (5e-324, 123456.789012345, T0 + 2 / 3)


async def test_a_session_keeps_its_client_when_upserted_without_one(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("s", "openai", client="openai-python"))
    store.upsert_session(SessionRecord("s", "openai"))
    store.add_turns([TurnRecord("s", 0, "tool", text("42")), TurnRecord("s", 1, "user", text("and   then?"))])
    await store.flush()
    session = await store.get_session("s")
    assert session is not None and (session["client"], session["first_words"]) == ("openai-python", "and then?")


async def test_a_child_session_names_its_parent_everywhere(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("main", "anthropic", created_at=T0, opening="ab12.cd34"))
    store.add_event(EventRecord("sub-1", "error", {}, T0 + 1))  # a placeholder row first
    store.upsert_session(SessionRecord("sub-1", "anthropic", created_at=T0 + 1, parent_id="main"))
    store.upsert_session(SessionRecord("sub-1", "anthropic", created_at=T0 + 2, parent_id="other"))  # kept: "main"
    store.upsert_session(SessionRecord("main", "anthropic", created_at=T0 + 3))  # the opening is kept too
    await store.flush()
    assert [(s["id"], s["parent_id"]) for s in await store.list_sessions()] == [("main", None), ("sub-1", "main")]
    child, main = await store.get_session("sub-1"), await store.get_session("main")
    assert child is not None and (child["parent_id"], child["opening"]) == ("main", "")
    assert main is not None and (main["parent_id"], main["opening"]) == (None, "ab12.cd34")
    assert (await store.table("sessions"))["parent_id"] == [None, "main"]
    columns, _ = await store.table_page("sessions", limit=10)
    assert dict(zip(columns["session_id"], columns["parent_id"])) == {"main": None, "sub-1": "main"}


async def test_rows_for_a_session_never_upserted_are_listed(store: QueuedStore) -> None:
    store.add_event(EventRecord("orphan", "error", {"message": "x"}, T0))
    store.upsert_session(SessionRecord("orphan", "openai", route="cloud", created_at=T0 - 1))
    await store.flush()
    (session,) = await store.list_sessions()
    assert (session["source"], session["route"], session["created_at"]) == ("openai", "cloud", T0 - 1)


async def test_a_pinned_session_is_marked_in_its_summary(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("pinned", "anthropic", created_at=T0))
    store.add_event(EventRecord("pinned", "privacy_finding", {"finding": "email", "category": "personal", "turn": 0}, T0))
    store.add_event(EventRecord("pinned", "privacy_pinned", {"finding": "aws_access_key", "turn": -1}, T0))
    store.add_event(EventRecord("pinned", "escalated", {"to": "claude"}, T0 + 1))
    store.upsert_session(SessionRecord("plain", "anthropic", created_at=T0))
    store.add_event(EventRecord("plain", "privacy_finding", {"finding": "email", "category": "personal", "turn": 0}, T0))
    await store.flush()
    summaries = {s["id"]: s for s in await store.list_sessions()}
    assert (summaries["pinned"]["private"], summaries["pinned"]["escalations"]) == ("aws_access_key", 1)
    assert summaries["plain"]["private"] is None, "a finding alone (under redact) does not pin"
    assert (await store.get_session("pinned"))["private"] == "aws_access_key"
    table = await store.table("sessions")
    assert dict(zip(table["session_id"], table["private"])) == {"pinned": "aws_access_key", "plain": None}


async def test_attempts_events_sitreps(store: QueuedStore) -> None:
    record_sample(store)
    await store.flush()
    attempts = await store.attempts("alpha")
    assert [a["provider"] for a in attempts] == ["ollama", "openai", "claude"]
    assert attempts[1]["error_class"] == "rate_limit" and attempts[1]["first_token_ms"] is None
    assert await store.attempts("beta/é?&<x>") == []
    assert len(await store.attempts()) == 3
    events = await store.events()
    assert events[0]["detail"] == {"from": "openai", "to": "claude", "reason": "quota"}
    assert [s["turn_count"] for s in await store.sitreps("alpha")] == [2, 4]


async def test_table_columns(store: QueuedStore) -> None:
    record_sample(store)
    await store.flush()
    turns = await store.table("turns")
    assert len(turns["seq"]) == 6 and turns["content_json"][0] == '[{"type": "text", "text": "hello"}]'
    assert (await store.table("sitreps", "alpha"))["intent"] == ["greeting", "learn about WAL"]
    assert (await store.table("sessions"))["session_id"] == ["beta/é?&<x>", "alpha"]
    assert (await store.table("events", "nobody")) == {"id": [], "session_id": [], "kind": [], "detail": [], "created_at": []}
    with pytest.raises(ValueError, match="no table"):
        await store.table("secrets")


async def test_one_bad_record_does_not_lose_its_batch(store: QueuedStore) -> None:
    store.upsert_session(SessionRecord("s", "chat"))
    store.add_event(EventRecord("s", "error", {"not json": object()}))
    store.add_event(EventRecord("s", "fallback"))
    await store.flush()
    assert [e["kind"] for e in await store.events("s")] == ["fallback"]


async def test_writes_while_reading(durable_db: str) -> None:
    store = open_store(Settings(db_path=durable_db))
    store.upsert_session(SessionRecord("s", "chat"))

    async def write() -> None:
        for seq in range(300):
            store.add_turns([TurnRecord("s", seq, "user", text(str(seq)))])
            if seq % 25 == 0:
                await asyncio.sleep(0)

    async def read() -> list[int]:
        seen = []
        for _ in range(30):
            seen.append(len(await store.transcript("s")))
        return seen

    _, seen = await asyncio.gather(write(), read())
    assert seen == sorted(seen)  # every read is a consistent, growing snapshot
    await store.close()
    reopened = open_store(Settings(db_path=durable_db))
    assert len(await reopened.transcript("s")) == 300
    await reopened.close()


async def test_close_flushes_and_a_restart_keeps_everything(durable_db: str, tmp_path: Path) -> None:
    path = durable_db if durable_db.startswith("postgresql:") else str(tmp_path / "nested" / "dir" / "t.db")
    store = open_store(Settings(db_path=path))
    record_sample(store)
    await store.close()  # no flush: close must write what was queued
    with pytest.raises(RuntimeError, match="closed"):
        store.add_event(EventRecord("alpha", "error"))
    reopened = open_store(Settings(db_path=path))
    assert [s["id"] for s in await reopened.list_sessions()] == ["beta/é?&<x>", "alpha"]
    assert len(await reopened.transcript("alpha")) == 4
    assert len(await reopened.attempts()) == 3
    await reopened.close()


async def test_responses_are_kept_by_id_and_survive_a_restart(durable_db: str) -> None:
    path = durable_db
    store = open_store(Settings(db_path=path))
    body = {"id": "resp_1", "object": "response", "output": [{"type": "message", "content": [{"text": "é"}]}]}
    store.add_response(ResponseRecord("resp_1", "s", 2, 5, json.dumps(body, ensure_ascii=False), created_at=T0))
    assert await store.get_response("resp_1") == {"id": "resp_1", "session_id": "s", "branch": 2, "seq": 5, "body": body, "created_at": T0}
    assert await store.get_response("resp_2") is None
    assert [s["id"] for s in await store.list_sessions()] == ["s"], "a response touches its session like any row"
    await store.close()
    reopened = open_store(Settings(db_path=path))
    assert (await reopened.get_response("resp_1"))["body"] == body
    await reopened.close()


async def test_message_threads_are_kept_by_id_and_survive_a_restart(durable_db: str) -> None:
    store = open_store(Settings(db_path=durable_db))
    store.add_thread(ThreadRecord("msg_1", "s", 1, 3, created_at=T0))
    store.add_thread(ThreadRecord("msg_1", "s", 1, 5, created_at=T0 + 1))  # the last place kept wins
    assert await store.get_thread("msg_1") == {"session_id": "s", "branch": 1, "seq": 5}
    assert await store.get_thread("msg_2") is None
    await store.close()
    reopened = open_store(Settings(db_path=durable_db))
    assert await reopened.get_thread("msg_1") == {"session_id": "s", "branch": 1, "seq": 5}
    await reopened.close()


async def test_compacted_sessions_are_kept_by_key_and_survive_a_restart(durable_db: str) -> None:
    store = open_store(Settings(db_path=durable_db))
    store.add_compaction(CompactionRecord("c-1", "s", created_at=T0))
    assert await store.compacted_session("c-1") == "s" and await store.compacted_session("c-2") is None
    await store.close()
    reopened = open_store(Settings(db_path=durable_db))
    assert await reopened.compacted_session("c-1") == "s"
    await reopened.close()


async def test_prune_removes_idle_sessions_with_their_rows(store: QueuedStore) -> None:
    record_sample(store)  # activity in January 2026: long ago
    fresh = time.time()
    store.upsert_session(SessionRecord("fresh", "chat", created_at=fresh))
    store.add_turns([TurnRecord("fresh", 0, "user", text("hi"), created_at=fresh)])
    store.add_sitrep(SitrepRecord("fresh", {"intent": "x"}, created_at=fresh))
    store.add_response(ResponseRecord("resp_old", "alpha", 0, 3, '{"id": "resp_old"}', created_at=T0 + 4))
    store.add_response(ResponseRecord("resp_new", "fresh", 0, 1, '{"id": "resp_new"}', created_at=fresh))
    store.add_thread(ThreadRecord("msg_old", "alpha", 0, 3, created_at=T0 + 4))
    store.add_thread(ThreadRecord("msg_new", "fresh", 0, 1, created_at=fresh))
    assert await store.prune(30) == 2
    assert await store.get_response("resp_old") is None and await store.get_response("resp_new") is not None
    assert await store.get_thread("msg_old") is None and await store.get_thread("msg_new") is not None
    store.add_compaction(CompactionRecord("c-old", "alpha", created_at=T0 + 4))
    assert await store.prune(30) == 1 and await store.compacted_session("c-old") is None
    assert [s["id"] for s in await store.list_sessions()] == ["fresh"]
    assert await store.attempts() == [] and await store.events() == []
    assert (await store.table("turns"))["session_id"] == ["fresh"]
    assert len(await store.sitreps()) == 1


async def test_a_read_sees_every_write_made_before_it(store: QueuedStore) -> None:
    # No flush: the writer is still gathering these writes into one commit when the reads start.
    store.upsert_session(SessionRecord("s", "chat"))
    store.add_turns([TurnRecord("s", 0, "user", text("one"))])
    assert [t["seq"] for t in await store.transcript("s")] == [0]
    store.add_turns([TurnRecord("s", 1, "assistant", text("two"))])
    store.add_event(EventRecord("other", "fallback"))
    assert (await store.get_session("s"))["turn_count"] == 2
    assert [e["kind"] for e in await store.events()] == ["fallback"]  # a read across sessions waits for all


async def test_writes_close_together_share_one_commit(store: QueuedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    transactions: list[int] = []
    real = type(store)._transaction

    def counting(self: QueuedStore, pending: list[Pending]) -> None:
        transactions.append(len(pending))
        real(self, pending)

    monkeypatch.setattr(type(store), "_transaction", counting)
    monkeypatch.setattr(queued_module, "GROUP_COMMIT_SECONDS", 5.0)  # a loaded machine cannot split them; the flush ends the wait
    store.upsert_session(SessionRecord("s", "chat"))
    for seq in range(5):
        store.add_turns([TurnRecord("s", seq, "user", text(str(seq)))])
    await store.flush()
    assert transactions == [6]


async def _writer_held(store: QueuedStore, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], threading.Event]:
    """The sizes of the transactions the writer runs; the first one, session "s"'s upsert (queued
    here, no flush: the writer thread commits it once it has gathered), waits until the event is
    set, so what is queued meanwhile reaches the writer in its next batch. Returns once the writer
    holds it."""
    transactions: list[int] = []
    release = threading.Event()
    real = type(store)._transaction

    def held(self: QueuedStore, pending: list[Pending]) -> None:
        transactions.append(len(pending))
        if len(transactions) == 1:
            release.wait(10)
        real(self, pending)

    monkeypatch.setattr(type(store), "_transaction", held)
    store.upsert_session(SessionRecord("s", "chat"))
    while not transactions:
        await asyncio.sleep(0.005)
    return transactions, release


async def test_the_writes_after_a_flush_in_a_batch_share_its_commit(
    store: QueuedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    transactions, release = await _writer_held(store, monkeypatch)
    flushes = []
    for seq in range(3):
        store.add_turns([TurnRecord("s", seq, "user", text(str(seq)))])
        flushes.append(asyncio.ensure_future(store.flush()))
        await asyncio.sleep(0)  # each flush is handed over after its write
    release.set()
    await asyncio.gather(*flushes)
    assert transactions == [1, 3]
    assert [t["text"] for t in await store.transcript("s")] == ["0", "1", "2"]


async def test_a_write_dropped_after_a_flush_is_reported_to_the_flush_after_it(
    store: QueuedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Committed with an earlier flush's writes, a later turn's dropped write fails the later
    turn, not the earlier one, whose writes are all stored."""
    _, release = await _writer_held(store, monkeypatch)
    store.add_turns([TurnRecord("s", 0, "user", text("q"))])
    earlier = asyncio.ensure_future(store.flush("s"))
    await asyncio.sleep(0)
    store.add_turns([TurnRecord("s", 1, "assistant", [{"type": "text", "text": object()}])])
    later = asyncio.ensure_future(store.flush("s"))
    await asyncio.sleep(0)
    release.set()
    await earlier
    with pytest.raises(StoreWriteError):
        await later
    assert [t["text"] for t in await store.transcript("s")] == ["q"]


async def test_a_dropped_transcript_write_is_reported_to_its_sessions_flush(
    store: QueuedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A turn whose write fails is not acknowledged: the flush its answer waits on raises, once,
    for that session only; the failed write left nothing, and other sessions' writes landed."""
    real_add_turns = store.writes.add_turns

    def add_turns(conn: object, turns: list[TurnRecord]) -> None:
        real_add_turns(conn, turns)
        if turns[0].session_id == "bad":
            raise OSError("disk I/O error")

    monkeypatch.setattr(store.writes, "add_turns", add_turns)
    for session_id in ("bad", "good"):
        store.upsert_session(SessionRecord(session_id, "anthropic"))
        store.add_turns([TurnRecord(session_id, 0, "user", text("q")), TurnRecord(session_id, 1, "assistant", text("a"))])
    store.add_event(EventRecord("good", "error", {"not json": object()}))  # a routing record: not reported
    with pytest.raises(StoreWriteError):
        await store.flush("bad")
    await store.flush("bad")  # reported once
    await store.flush("good")
    assert await store.transcript("bad") == []
    assert [t["text"] for t in await store.transcript("good")] == ["q", "a"]


async def test_a_response_that_could_not_be_kept_fails_its_turn(store: QueuedStore) -> None:
    """A client must not be handed a response id it cannot continue from."""
    store.add_response(ResponseRecord("resp_bad", "s", 0, 1, '{"text": "\ud800"}'))
    with pytest.raises(StoreWriteError):
        await store.flush("s")
    assert await store.get_response("resp_bad") is None
