"""The live session service with a real store: one live session per id however many requests open
it at once."""

from __future__ import annotations

import asyncio

from trooper.config import Settings
from trooper.server.live import LiveFeed
from trooper.server.session_service import SessionService
from trooper.store import open_store


async def test_requests_opening_a_session_at_once_share_one_live_session() -> None:
    store = open_store(Settings(db_path=":memory:"))
    sessions = SessionService(store, LiveFeed())
    first, second = await asyncio.gather(sessions.open("s", "anthropic"), sessions.open("s", "anthropic"))
    assert first is second
    await store.close()
