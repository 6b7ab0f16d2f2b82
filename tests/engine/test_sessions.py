"""The live session service with a real store: one live session per id however many requests open
it at once, and what it knows of a named session's main conversation and of its subagents
survives a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from trooper.config import Settings
from trooper.conversation import Message, Request, Response, TextBlock, ToolUseBlock
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
