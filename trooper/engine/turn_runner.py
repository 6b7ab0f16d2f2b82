"""The one turn runner every front door calls: session → route → stream (or complete) → record.

A door decodes its protocol into the canonical ``Request`` and encodes what comes back; between
the two, everything is here and the same for every door: the session the turn belongs to, the
tool signatures it left out put back, the plan, a slot among the turns in flight
(``routing/admission.py``) for as long as the router answers, and the record of the turn —
its question once, then its answer, committed before the answer is acknowledged (the stream's
``MessageStop`` waits for the commit; a turn that could not be stored ends in a ``StreamError``
instead). The door adds only its HTTP edges: headers, its event encoding, its error shape.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from trooper.config import Settings
from trooper.conversation import EventStream, Message, MessageStop, Request, Response, StreamAccumulator, StreamError, StreamEvent
from trooper.engine.sessions import LiveSession, SessionService, TurnPlace, with_tool_signatures
from trooper.engine.turn_book import TurnBook
from trooper.errors import TrooperError
from trooper.memory.identity import ClientIds
from trooper.providers.base import CallOptions
from trooper.routing.admission import StreamLimiter
from trooper.routing.headers import Trail
from trooper.routing.privacy import private_plan
from trooper.routing.router import Plan, Router, TurnRecorder

#: What a door keeps of an answer besides its turn (the Responses door: the response by id),
#: called once the turn is recorded at ``place``, in time for the turn's commit.
Keeper = Callable[[LiveSession, TurnPlace, Response], None]


def keep_nothing(session: LiveSession, place: TurnPlace, response: Response) -> None:
    """The Keeper of the doors that keep nothing but the turn."""


@dataclass(frozen=True)
class Answered:
    """A turn's answer as recorded: who gave it, from which tier, and where it is in its session."""

    response: Response
    provider: str
    tier: str
    place: TurnPlace


@dataclass
class Turn:
    """One turn in progress: what it asks, of which session, and what has come of it so far."""

    session: LiveSession
    request: Request
    options: CallOptions
    #: Who the turn is for (``client_identity``): the admission limits count turns per client.
    client: str
    book: TurnBook
    #: What the router reports the turn's attempts and events to.
    recorder: TurnRecorder
    #: The trail of the answer: set by ``plan`` (a stream's), replaced by ``complete``'s own.
    trail: Trail | None = None
    #: A stream's events so far.
    answer: StreamAccumulator = field(default_factory=StreamAccumulator)
    #: Set once the answer is recorded.
    answered: Answered | None = None
    #: Why a streamed answer that finished could not be stored (it ended in a ``StreamError``).
    unstored: TrooperError | None = None


class TurnRunner:
    """Built once per server, over its router and its sessions."""

    def __init__(self, router: Router, sessions: SessionService, admission: StreamLimiter, settings: Settings) -> None:
        self.router = router
        self.settings = settings
        self.sessions = sessions
        #: Each turn holds one of its slots while the router answers it (and, for a stream, until
        #: the door closes the events: a client that stops reading still holds its slot).
        self.admission = admission

    async def session_for(
        self, request: Request, ids: ClientIds, source: str, client: str, *, continued: str | None = None
    ) -> LiveSession:
        """The session of a protocol door's turn: the one ``continued`` names (a Responses
        request's ``previous_response_id``), else the one the client's ids and the request name."""
        if continued:
            return await self.sessions.open(continued, source, client)
        return await self.sessions.resolve(ids, request, source, client)

    def open(
        self, session: LiveSession, request: Request, *, client: str, question: list[Message] | None,
        options: CallOptions | None = None,
    ) -> Turn:
        """A turn of ``session`` asking ``request``. ``question``: the history whose messages the
        session does not hold yet are recorded (the request's, unless the door asks the model in
        other words than the client's); None when the caller recorded them and holds the
        session's lock for the whole turn (the chat)."""
        book = TurnBook(self.sessions, session, question)
        request = with_tool_signatures(session, request)
        return Turn(session, request, options or CallOptions(), client, book, self.sessions.recorder_for(session))

    def plan(self, turn: Turn, forced: str | None = None, *, escalate: bool = False, confirmed: bool = False) -> Plan:
        """The router's plan under the privacy policy (``routing/privacy.py``): a pinned session
        stays local unless a person ``confirmed`` its escalation."""
        plan = private_plan(
            self.router, self.settings, turn.session, turn.request, turn.recorder, forced,
            escalate=escalate, confirmed=confirmed,
        )
        turn.trail = plan.new_trail()
        return plan

    async def complete(self, turn: Turn, plan: Plan, keep: Keeper = keep_nothing) -> Answered:
        """The whole answer, recorded and committed (durable acknowledgement: the caller sends it
        only after this returns)."""
        started = time.monotonic()
        async with self.admission.admit(turn.session.id, turn.client):
            response, turn.trail, provider = await self.router.complete(turn.request, plan, turn.options, turn.recorder)
        answered = await self._record(turn, response, provider.name, provider.tier, started, keep)
        await self.sessions.committed(turn.session)
        return answered

    async def stream(self, turn: Turn, plan: Plan, keep: Keeper = keep_nothing) -> EventStream:
        """The answer's events, for the door to send as they come. Its ``MessageStop`` comes once
        the turn is committed (a ``StreamError`` when it could not be); the question is recorded
        as soon as the door has sent the first event. The door must close this (``aclose``) when
        it stops early: that stops the upstream, and nothing of the answer is recorded."""
        started = time.monotonic()
        assert turn.trail is not None, "plan the turn first"
        first = True
        async with self.admission.admit(turn.session.id, turn.client):
            events = self.router.stream(turn.request, plan, turn.options, turn.recorder, turn.trail)
            try:
                async for event in events:
                    turn.answer.add(event)
                    if isinstance(event, MessageStop):
                        event = await self._record_stream(turn, event, started, keep)
                    yield event
                    if first:  # the first event is out: the dashboard shows the turn
                        first = False
                        turn.book.start_question()
            finally:
                await events.aclose()

    async def _record_stream(self, turn: Turn, stop: MessageStop, started: float, keep: Keeper) -> StreamEvent:
        """Record and commit a stream that finished whole; its ``stop``, or the error that replaces
        it when the turn could not be stored."""
        assert turn.trail is not None
        answered_by = turn.trail.answered_by()
        if turn.answer.error is not None or answered_by is None:
            return stop
        tier = self.router.tier_of(answered_by.provider)
        try:
            await self._record(turn, turn.answer.response(), answered_by.provider, tier, started, keep)
            await self.sessions.committed(turn.session)
        except TrooperError as failure:
            turn.unstored = failure
            return StreamError(failure.error_type, failure.message, failure.status)
        return stop

    async def _record(
        self, turn: Turn, response: Response, provider: str, tier: str, started: float, keep: Keeper
    ) -> Answered:
        latency_ms = (time.monotonic() - started) * 1000
        place = await turn.book.answer(response, provider=provider, tier=tier, latency_ms=latency_ms)
        keep(turn.session, place, response)
        turn.answered = Answered(response, provider, tier, place)
        return turn.answered
