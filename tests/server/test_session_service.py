"""The live session service with a real store: one live session per id however many requests open
it at once, and a named session's main conversation is still told from a subagent's after a
restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from trooper.config import Settings
from trooper.conversation import Message, Request, TextBlock
from trooper.memory.identity import ClientIds
from trooper.server.live import LiveFeed
from trooper.server.session_service import SessionService
from trooper.store import open_store


def request(task: str, system: str) -> Request:
    return Request(model="m", messages=[Message("user", [TextBlock(task)])], system=system)


MAIN = request("Map the package for me.", "You are the main agent.")
SEARCH = request("Find where sessions are stored.", "You are a search agent.")


async def test_requests_opening_a_session_at_once_share_one_live_session() -> None:
    store = open_store(Settings(db_path=":memory:"))
    sessions = SessionService(store, LiveFeed())
    first, second = await asyncio.gather(sessions.open("s", "anthropic"), sessions.open("s", "anthropic"))
    assert first is second
    await store.close()


async def test_a_restart_keeps_the_main_opening(tmp_path: Path) -> None:
    settings = Settings(db_path=str(tmp_path / "trooper.db"))
    store = open_store(settings)
    sessions = SessionService(store, LiveFeed())
    await sessions.resolve(ClientIds("cc"), MAIN, "anthropic")
    child = await sessions.resolve(ClientIds("cc"), SEARCH, "anthropic")
    assert child.id != "cc" and child.parent_id == "cc"
    await store.close()

    store = open_store(settings)
    sessions = SessionService(store, LiveFeed())
    assert (await sessions.resolve(ClientIds("cc"), SEARCH, "anthropic")).id == child.id
    assert (await sessions.resolve(ClientIds("cc"), MAIN, "anthropic")).id == "cc"
    await store.close()
