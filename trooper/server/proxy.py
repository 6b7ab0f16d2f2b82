"""The proxy front doors: Anthropic ``/v1/messages`` and OpenAI ``/v1/chat/completions`` (and,
on the same machinery, OpenAI ``/v1/responses``: ``responses_door.py``).

A front door decodes the caller's protocol into the canonical request, resolves the session, lets
the router answer, and encodes the answer back in the caller's protocol, streaming chunk by chunk.
Errors are always in the caller's own error shape. What the turn leaves in the session (the
caller's new messages, the answer) is recorded once the answer has gone out, so the caller does
not wait for the bookkeeping; a stream's question is recorded as soon as its first event is out.
A door differs from another in its codec and its edges: the hooks ``decode``, ``stream_encoder``,
``encode_response`` and ``answered``.
"""

from __future__ import annotations

import asyncio
import time
from types import ModuleType
from typing import Any, Protocol

from tornado.httputil import HTTPHeaders
from tornado.iostream import StreamClosedError

from trooper.conversation import Message, MessageStop, Request, Response, StreamAccumulator, StreamError, StreamEvent
from trooper.errors import InvalidRequest, TrooperError
from trooper.memory.identity import InvalidSessionId, client_ids, client_name
from trooper.providers.anthropic import FORWARDED_HEADERS
from trooper.providers.base import CallOptions
from trooper.redaction import remember_secret
from trooper.routing.classifier import forced_route
from trooper.routing.headers import Trail, trooper_headers
from trooper.routing.privacy import private_plan
from trooper.routing.router import Plan, RoutedError, Router, TurnRecorder
from trooper.server.body import LimitedBodyHandler
from trooper.server.limits import check_prompt_tokens, client_identity
from trooper.server.secret import bearer_token
from trooper.server.session_service import LiveSession, SessionService, TurnPlace, with_tool_signatures
from trooper.wire import anthropic, openai
from trooper.wording import counted


class StreamEncoder(Protocol):
    def encode(self, event: StreamEvent) -> bytes: ...


class FrontDoor(LimitedBodyHandler):
    codec: ModuleType
    source: str

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        return self.codec.encode_error(status, error_type, message)

    @property
    def router(self) -> Router:
        return self.services.router

    @property
    def sessions(self) -> SessionService:
        return self.services.sessions

    def client_key(self) -> str | None:
        """The API key the caller sent, in its protocol's header."""
        return None

    async def decode(self, body: dict[str, Any]) -> tuple[Request, str | None]:
        """The canonical request, and the session it continues when the body says so (None: the
        session is resolved from the headers and the request)."""
        return self.codec.decode_request(body), None

    def stream_encoder(self, request: Request) -> StreamEncoder:
        encoder: StreamEncoder = self.codec.StreamEncoder(request.model, include_usage=request.include_usage)
        return encoder

    def encode_response(self, response: Response) -> dict[str, Any]:
        payload: dict[str, Any] = self.codec.encode_response(response)
        return payload

    def answered(self, session: LiveSession, place: TurnPlace, response: Response) -> None:
        """Keep what this door keeps of an answer besides its turn (at ``place``), in time for the
        turn's commit. The Messages and Chat Completions doors keep nothing more."""

    async def post(self) -> None:
        self.read_body()
        body = self.json_body()
        request, continued = await self.decode(body)
        if len(request.messages) > self.state.settings.max_messages:
            raise InvalidRequest(
                f"messages: {counted(len(request.messages), 'message')} is more than the limit of "
                f"{self.state.settings.max_messages} (TROOPER_MAX_MESSAGES)"
            )
        check_prompt_tokens(request, self.state.settings.max_request_tokens)
        forced = forced_route(self.request.headers, body)
        try:
            ids = client_ids(self.request.headers)
        except InvalidSessionId as exc:
            raise InvalidRequest(str(exc)) from None
        client = client_name(self.request.headers)
        if continued:  # a previous_response_id continues the session that answer belongs to
            session = await self.sessions.open(continued, self.source, client)
        else:
            session = await self.sessions.resolve(ids, request, self.source, client)
        self.set_header("X-Trooper-Session", session.id)
        book = TurnBook(self.sessions, session, request.messages)
        request = with_tool_signatures(session, request)
        client_key = self.client_key()
        options = call_options(self.request.headers, client_key)
        recorder = self.sessions.recorder_for(session, client_identity(self.request.remote_ip or "", client_key))
        try:
            plan = private_plan(self.router, self.state.settings, session, request, recorder, forced)
            if request.stream:
                await self._stream(request, plan, options, recorder, book)
            else:
                await self._complete(request, plan, options, recorder, book)
        except TrooperError as exc:
            # Final: Trooper already retried and fell back, so SDKs must not retry on top.
            if isinstance(exc, RoutedError):
                exc.trail.tokens_saved = session.tokens_saved
                exc.headers.update(trooper_headers(exc.trail))
            exc.headers.update({"X-Trooper-Session": session.id, "x-should-retry": "false"})
            raise
        finally:
            await book.question()  # a turn that failed keeps its question too

    # ------------------------------------------------------------------ answers

    async def _complete(self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, book: TurnBook) -> None:
        started = time.monotonic()
        response, trail, provider = await self.router.complete(request, plan, options, recorder)
        latency_ms = (time.monotonic() - started) * 1000
        self._set_trooper_headers(trail, book.session, saved_now=self.sessions.saved_by(response, provider.tier))
        # Durable acknowledgement: the turn is committed before the client receives a byte of it.
        place = await book.answer(response, provider=provider.name, tier=provider.tier, latency_ms=latency_ms)
        self.answered(book.session, place, response)
        payload = self.encode_response(response)
        await self.sessions.committed(book.session)
        self.write_json(payload)

    async def _stream(self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, book: TurnBook) -> None:
        started = time.monotonic()
        trail = plan.new_trail()
        encoder = self.stream_encoder(request)
        answer = StreamAccumulator()
        events = self.router.stream(request, plan, options, recorder, trail)
        headers_sent = recorded = False
        try:
            async for event in events:
                if not headers_sent:
                    self._start_stream(trail, book.session)
                answer.add(event)
                if isinstance(event, MessageStop):
                    # Durable acknowledgement: the stream's terminator waits until the turn is committed;
                    # a turn that could not be stored ends in an error event, never acknowledged.
                    try:
                        recorded = await self._record_stream(answer, trail, book, started)
                    except TrooperError as failure:
                        recorded, event = True, StreamError(failure.error_type, failure.message, failure.status)  # nor recorded below
                # Not waiting for a slow client here lets the answer finish upstream (and free its
                # slot) while what it has not read yet waits in memory, up to READ_AHEAD_BYTES.
                await self.send_bounded(encoder.encode(event))
                if not headers_sent:
                    headers_sent = True
                    book.start_question()  # the first event is out: the dashboard shows the turn
            await self.drain_bounded()
        except (StreamClosedError, asyncio.TimeoutError):
            # The client left (or stopped reading); stop the upstream and keep what arrived.
            answer.error = StreamError("cancelled", "client disconnected")
        finally:
            await events.aclose()
        if not self._finished:
            self.finish()
        if not recorded:
            await self._record_stream(answer, trail, book, started, durable=False)

    async def _record_stream(
        self, answer: StreamAccumulator, trail: Trail, book: TurnBook, started: float, *, durable: bool = True
    ) -> bool:
        """Record a streamed answer that finished whole (and wait for its commit when ``durable``)."""
        answered = trail.answered_by()
        if not (answer.finished and answer.error is None and answered is not None):
            return False
        latency_ms = (time.monotonic() - started) * 1000
        tier = self.router.tier_of(answered.provider)
        response = answer.response()
        place = await book.answer(response, provider=answered.provider, tier=tier, latency_ms=latency_ms)
        self.answered(book.session, place, response)
        if durable:
            await self.sessions.committed(book.session)
        return True

    def _start_stream(self, trail: Trail, session: LiveSession) -> None:
        self._set_trooper_headers(trail, session)
        self.start_event_stream()

    def _set_trooper_headers(self, trail: Trail, session: LiveSession, saved_now: int = 0) -> None:
        """``saved_now``: what this turn's answer saves, not yet in the session (it is recorded
        after the answer has gone out)."""
        trail.tokens_saved = session.tokens_saved + saved_now
        for name, value in trooper_headers(trail).items():
            self.set_header(name, value)


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


class MessagesHandler(FrontDoor):
    """``POST /v1/messages`` (Anthropic Messages API)."""

    codec = anthropic
    source = "anthropic"

    def client_key(self) -> str | None:
        return anthropic_client_key(self.request.headers)


class ChatCompletionsHandler(FrontDoor):
    """``POST /v1/chat/completions`` and ``/chat/completions`` (OpenAI Chat Completions API)."""

    codec = openai
    source = "openai"

    def client_key(self) -> str | None:
        return openai_client_key(self.request.headers)


def anthropic_client_key(headers: HTTPHeaders) -> str | None:
    """The key an Anthropic client sends: ``x-api-key``, or a bearer token (``ANTHROPIC_AUTH_TOKEN``)."""
    return headers.get("x-api-key") or bearer_token(headers.get("Authorization"))


def openai_client_key(headers: HTTPHeaders) -> str | None:
    """The key an OpenAI client sends: a bearer token, or ``x-api-key``."""
    return bearer_token(headers.get("Authorization")) or headers.get("x-api-key")


def call_options(headers: HTTPHeaders, api_key: str | None) -> CallOptions:
    """What a call upstream carries from its caller: the key and Anthropic's version headers."""
    remember_secret(api_key)  # an upstream that quotes it back must not show it, nor the log
    return CallOptions(api_key=api_key, forward_headers={h: headers[h] for h in FORWARDED_HEADERS if h in headers})


ROUTES = [
    (r"/v1/messages", MessagesHandler),
    (r"/v1/chat/completions", ChatCompletionsHandler),
    (r"/chat/completions", ChatCompletionsHandler),
]
