"""Turn recording: ``TurnBook`` keeps the order in which a turn's parts reach its session."""

from __future__ import annotations

import asyncio

from trooper.conversation import Message, Response
from trooper.engine.sessions import LiveSession, SessionService, TurnPlace


class TurnBook:
    """What one turn records in its session, each part once and in order: the caller's messages
    the session does not hold yet (the question), then the answer.

    ``question`` None: the caller recorded the question itself and holds the session's lock for
    the whole turn (the chat answers one turn at a time), so the answer is recorded without it.
    """

    def __init__(self, sessions: SessionService, session: LiveSession, question: list[Message] | None) -> None:
        self.sessions = sessions
        self.session = session
        self._messages = question
        self._started = False
        #: The question's recording, when it had to wait for the session's lock.
        self._waiting: asyncio.Task[None] | None = None

    def start_question(self) -> None:
        """Record the question, once, without waiting here: a chat answering in the same session
        holds its lock, and a stream must not stop while it does. With the lock free (nearly
        always) it is recorded at once, without a task and a turn of the event loop."""
        if self._started or self._messages is None:
            return
        self._started = True
        if self.session.lock.locked():
            self._waiting = asyncio.ensure_future(self._record_question(self._messages))
        else:
            self.sessions.record_history(self.session, self._messages)

    async def question(self) -> None:
        """Record the question, once, and wait until it is recorded."""
        self.start_question()
        if self._waiting is not None:
            await self._waiting

    async def _record_question(self, messages: list[Message]) -> None:
        async with self.session.lock:
            self.sessions.record_history(self.session, messages)

    async def answer(self, response: Response, *, provider: str, tier: str, latency_ms: float) -> TurnPlace:
        if self._messages is None:  # the caller holds the lock
            return self.sessions.record_answer(self.session, response, provider=provider, tier=tier, latency_ms=latency_ms)
        await self.question()
        async with self.session.lock:
            return self.sessions.record_answer(self.session, response, provider=provider, tier=tier, latency_ms=latency_ms)
