"""Turn recording: ``TurnBook`` keeps the order in which a turn's parts reach its session."""

from __future__ import annotations

import asyncio

from trooper.conversation import Message, Response
from trooper.engine.sessions import LiveSession, SessionService, TurnPlace


class TurnBook:
    """What one proxied turn records in its session, each part once and in order: the caller's
    messages the session does not hold yet (the question), then the answer."""

    def __init__(self, sessions: SessionService, session: LiveSession, messages: list[Message]) -> None:
        self.sessions = sessions
        self.session = session
        self._messages = messages
        self._question: asyncio.Task[None] | None = None

    def start_question(self) -> None:
        """Record the question, once, without waiting here: a chat answering in the same session
        holds its lock, and a stream must not stop while it does."""
        if self._question is None:
            self._question = asyncio.ensure_future(self._record_question())

    async def question(self) -> None:
        """Record the question, once, and wait until it is recorded."""
        self.start_question()
        assert self._question is not None
        await self._question

    async def _record_question(self) -> None:
        async with self.session.lock:
            self.sessions.record_history(self.session, self._messages)

    async def answer(self, response: Response, *, provider: str, tier: str, latency_ms: float) -> TurnPlace:
        await self.question()
        async with self.session.lock:
            return self.sessions.record_answer(self.session, response, provider=provider, tier=tier, latency_ms=latency_ms)
