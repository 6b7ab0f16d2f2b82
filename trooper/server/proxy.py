"""The proxy front doors: Anthropic ``/v1/messages`` and OpenAI ``/v1/chat/completions``.

A front door decodes the caller's protocol into the canonical request, resolves and records the
session, lets the router answer, and encodes the answer back in the caller's protocol, streaming
chunk by chunk. Errors are always in the caller's own error shape.
"""

from __future__ import annotations

import asyncio
import time
from types import ModuleType
from typing import Any

from tornado.iostream import StreamClosedError

from trooper.conversation import Request, StreamAccumulator, StreamError
from trooper.errors import InvalidRequest, TrooperError
from trooper.memory.identity import InvalidSessionId, session_id_for
from trooper.providers.base import CallOptions
from trooper.routing.classifier import forced_route
from trooper.routing.headers import Trail, trooper_headers
from trooper.routing.router import Plan, RoutedError, Router, TurnRecorder
from trooper.server.body import LimitedBodyHandler
from trooper.server.limits import check_prompt_tokens
from trooper.server.session_service import LiveSession, SessionService
from trooper.wire import anthropic, openai

#: Client headers worth passing to an Anthropic upstream.
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")


class FrontDoor(LimitedBodyHandler):
    codec: ModuleType
    source: str

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        return self.codec.encode_error(status, error_type, message)

    @property
    def router(self) -> Router:
        return self.state.services["router"]

    @property
    def sessions(self) -> SessionService:
        return self.state.services["sessions"]

    def client_key(self) -> str | None:
        """The API key the caller sent, in its protocol's header."""
        return None

    async def post(self) -> None:
        self.read_body()
        body = self.json_body()
        request = self.codec.decode_request(body)
        if len(request.messages) > self.state.settings.max_messages:
            raise InvalidRequest(
                f"messages: {len(request.messages)} messages is more than the limit of "
                f"{self.state.settings.max_messages} (TROOPER_MAX_MESSAGES)"
            )
        check_prompt_tokens(request, self.state.settings.max_request_tokens)
        forced = forced_route(self.request.headers, body)
        try:
            session_id = session_id_for(self.request.headers, request)
        except InvalidSessionId as exc:
            raise InvalidRequest(str(exc)) from None
        self.set_header("X-Trooper-Session", session_id)
        session = await self.sessions.open(session_id, self.source)
        async with session.lock:
            self.sessions.record_history(session, request.messages)
        options = CallOptions(
            api_key=self.client_key(),
            forward_headers={h: self.request.headers[h] for h in FORWARDED_HEADERS if h in self.request.headers},
        )
        recorder = self.sessions.recorder_for(session)
        try:
            plan = self.router.plan(request, forced)
            if request.stream:
                await self._stream(request, plan, options, recorder, session)
            else:
                await self._complete(request, plan, options, recorder, session)
        except TrooperError as exc:
            # Final: Trooper already retried and fell back, so SDKs must not retry on top.
            if isinstance(exc, RoutedError):
                exc.trail.tokens_saved = session.tokens_saved
                exc.headers.update(trooper_headers(exc.trail))
            exc.headers.update({"X-Trooper-Session": session.id, "x-should-retry": "false"})
            raise

    # ------------------------------------------------------------------ answers

    async def _complete(
        self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, session: LiveSession
    ) -> None:
        started = time.monotonic()
        response, trail, provider = await self.router.complete(request, plan, options, recorder)
        self.sessions.record_answer(
            session, response, provider=provider.name, tier=provider.tier, latency_ms=(time.monotonic() - started) * 1000
        )
        self._set_trooper_headers(trail, session)
        self.write_json(self.codec.encode_response(response))

    async def _stream(
        self, request: Request, plan: Plan, options: CallOptions, recorder: TurnRecorder, session: LiveSession
    ) -> None:
        started = time.monotonic()
        trail = plan.new_trail()
        encoder = self.codec.StreamEncoder(request.model, include_usage=request.include_usage)
        answer = StreamAccumulator()
        events = self.router.stream(request, plan, options, recorder, trail)
        headers_sent = False
        try:
            async for event in events:
                if not headers_sent:
                    self._start_stream(trail, session)
                    headers_sent = True
                answer.add(event)
                self.write(encoder.encode(event))
                await self.flush_bounded()
        except (StreamClosedError, asyncio.TimeoutError):
            # The client left (or stopped reading); stop the upstream and keep what arrived.
            answer.error = StreamError("cancelled", "client disconnected")
        finally:
            await events.aclose()
        answered = trail.answered_by()
        if answer.finished and answer.error is None and answered is not None:
            self.sessions.record_answer(
                session,
                answer.response(),
                provider=answered.provider,
                tier=self.router.tier_of(answered.provider),
                latency_ms=(time.monotonic() - started) * 1000,
            )
        if not self._finished:
            self.finish()

    def _start_stream(self, trail: Trail, session: LiveSession) -> None:
        self._set_trooper_headers(trail, session)
        self.start_event_stream()

    def _set_trooper_headers(self, trail: Trail, session: LiveSession) -> None:
        trail.tokens_saved = session.tokens_saved
        for name, value in trooper_headers(trail).items():
            self.set_header(name, value)


class MessagesHandler(FrontDoor):
    """``POST /v1/messages`` (Anthropic Messages API)."""

    codec = anthropic
    source = "anthropic"

    def client_key(self) -> str | None:
        return self.request.headers.get("x-api-key") or _bearer(self.request.headers.get("Authorization"))


class ChatCompletionsHandler(FrontDoor):
    """``POST /v1/chat/completions`` and ``/chat/completions`` (OpenAI Chat Completions API)."""

    codec = openai
    source = "openai"

    def client_key(self) -> str | None:
        return _bearer(self.request.headers.get("Authorization")) or self.request.headers.get("x-api-key")


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


ROUTES = [
    (r"/v1/messages", MessagesHandler),
    (r"/v1/chat/completions", ChatCompletionsHandler),
    (r"/chat/completions", ChatCompletionsHandler),
]
