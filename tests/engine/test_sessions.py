"""The live session service with a real store: one live session per id however many requests open
it at once, and what it knows of a named session's main conversation and of its subagents
survives a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from trooper.config import Settings
from trooper.conversation import Message, Request, Response, TextBlock, ToolUseBlock
from trooper.engine import sessions as sessions_module
from trooper.engine.live import LiveFeed
from trooper.engine.sessions import SessionService
from trooper.memory.identity import ClientIds
from trooper.store import open_store


def request(task: str, system: str) -> Request:
    return Request(model="m", messages=[Message("user", [TextBlock(task)])], system=system)


MAIN = request("Map the package for me.", "You are the main agent.")
SEARCH = request("Find where sessions are stored.", "You are a search agent.")


async def test_requests_opening_a_session_at_once_share_one_live_session() -> None:
    store = open_store(Settings(db_path=":memory:"))
    sessions = SessionService(store, LiveFeed(), would_answer=lambda: None, prices=Settings().prices)
    first, second = await asyncio.gather(sessions.open("s", "anthropic"), sessions.open("s", "anthropic"))
    assert first is second
    await store.close()


async def test_a_restart_keeps_the_main_opening_and_the_subagents(tmp_path: Path) -> None:
    settings = Settings(db_path=str(tmp_path / "trooper.db"))
    store = open_store(settings)
    sessions = SessionService(store, LiveFeed(), would_answer=lambda: None, prices=Settings().prices)
    main = await sessions.resolve(ClientIds("cc"), MAIN, "anthropic")
    child = await sessions.resolve(ClientIds("cc"), SEARCH, "anthropic")
    assert child.id != "cc" and child.parent_id == "cc"
    sessions.record_history(child, SEARCH.messages)
    calling_a_tool = Response("msg_1", "m", [ToolUseBlock("t1", "Grep", {"q": "store"})], "tool_use")
    sessions.record_answer(child, calling_a_tool, provider="claude", tier="cloud", latency_ms=1.0)
    sessions.flush_sitreps()  # the child's SITREP, then its parent's
    assert [s.done for s in main.subagents.values()] == [False]
    await store.close()

    store = open_store(settings)
    sessions = SessionService(store, LiveFeed(), would_answer=lambda: None, prices=Settings().prices)
    assert (await sessions.resolve(ClientIds("cc"), SEARCH, "anthropic")).id == child.id
    again = await sessions.resolve(ClientIds("cc"), MAIN, "anthropic")
    assert again.id == "cc" and list(again.subagents) == [child.id]
    assert sessions.sitrep_now(again).open_loops[-1].startswith("subagent: find where sessions are stored")
    await store.close()


async def test_a_sessions_sitrep_is_stored_at_once_then_at_most_once_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first turn's SITREP comes after the short debounce; the next turns' wait out the
    interval since the last one, and share it."""
    monkeypatch.setattr(sessions_module, "SITREP_DEBOUNCE_SECONDS", 0.01)
    monkeypatch.setattr(sessions_module, "SITREP_INTERVAL_SECONDS", 1.0)
    store = open_store(Settings(db_path=":memory:"))
    sessions = SessionService(store, LiveFeed(), would_answer=lambda: None, prices=Settings().prices)
    session = await sessions.open("s", "anthropic")
    answer = Response("msg_1", "m", [TextBlock("Sure.")], "end_turn")

    def turn(question: str) -> None:
        sessions.record_history(session, [*session.messages, Message("user", [TextBlock(question)])])
        sessions.record_answer(session, answer, provider="claude", tier="cloud", latency_ms=1.0)

    async def stored() -> list[int]:
        await store.flush()
        return [row["turn_count"] for row in await store.sitreps("s")]

    turn("Map the package for me.")
    await asyncio.sleep(0.1)
    assert await stored() == [2]
    turn("Now the store.")
    await asyncio.sleep(0.05)
    turn("And the engine.")
    await asyncio.sleep(0.05)
    assert await stored() == [2]  # within the interval: not yet
    await asyncio.sleep(1.0)
    assert await stored() == [2, 6]  # both turns in one
    await store.close()


async def test_a_sitrep_due_while_a_turn_is_answered_waits_for_its_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild would delay the answer in flight: it runs once the last response has gone, or at
    the latest after the quiet wait when turns never stop."""
    monkeypatch.setattr(sessions_module, "SITREP_DEBOUNCE_SECONDS", 0.01)
    monkeypatch.setattr(sessions_module, "SITREP_INTERVAL_SECONDS", 0.05)
    monkeypatch.setattr(sessions_module, "SITREP_QUIET_WAIT_SECONDS", 0.3)
    answering = [True, True]  # two turns being answered
    store = open_store(Settings(db_path=":memory:"))
    sessions = SessionService(
        store, LiveFeed(), would_answer=lambda: None, prices=Settings().prices, answering=lambda: any(answering)
    )
    quiet, busy = await sessions.open("quiet", "anthropic"), await sessions.open("busy", "anthropic")

    async def stored(session_id: str) -> list[int]:
        await store.flush()
        return [row["turn_count"] for row in await store.sitreps(session_id)]

    for session in (quiet, busy):
        sessions.record_history(session, [Message("user", [TextBlock("Map the package for me.")])])
    await asyncio.sleep(0.05)
    assert await stored("quiet") == [] and await stored("busy") == []  # due, waiting
    answering[0] = False
    sessions.answered()  # one response gone, another turn still being answered
    assert await stored("quiet") == []
    answering[1] = False
    sessions.answered()  # the last one
    assert await stored("quiet") == [1] and await stored("busy") == [1]

    answering[0] = True  # turns that never stop: the wait has its bound
    sessions.record_history(quiet, [*quiet.messages, Message("user", [TextBlock("Now the store.")])])
    await asyncio.sleep(0.15)  # due after the interval, then waiting
    assert await stored("quiet") == [1]
    await asyncio.sleep(0.4)  # the quiet wait is over
    assert await stored("quiet") == [1, 2]
    await store.close()
