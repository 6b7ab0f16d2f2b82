"""The proxy front doors: Anthropic ``/v1/messages`` and OpenAI ``/v1/chat/completions`` (and,
on the same machinery, OpenAI ``/v1/responses``: ``responses_door.py``), with what their SDKs ask
besides: ``/v1/models`` and Anthropic's ``/v1/messages/count_tokens``.

A front door decodes the caller's protocol into the canonical request, hands it to the turn runner
(``engine/turn_runner.py``: session, route, answer, record), and encodes the answer back in the
caller's protocol, streaming chunk by chunk.
Errors are always in the caller's own error shape. What the turn leaves in the session (the
caller's new messages, the answer) is recorded once the answer has gone out, so the caller does
not wait for the bookkeeping; a stream's question is recorded as soon as its first event is out.
A door differs from another in its codec and its edges: the hooks ``decode``, ``stream_encoder``,
``encode_response`` and ``answered``.
"""

from __future__ import annotations

import abc
import asyncio
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from tornado.httputil import HTTPHeaders
from tornado.iostream import StreamClosedError

from trooper.conversation import HostedToolBlock, Message, Request, Response
from trooper.engine.sessions import LiveSession, TurnPlace
from trooper.engine.turn_runner import Turn, TurnRunner
from trooper.errors import InvalidRequest, TrooperError
from trooper.memory.identity import InvalidSessionId, client_ids, client_name
from trooper.memory.tokens import count_request_tokens
from trooper.providers import anthropic as anthropic_provider
from trooper.providers import openai_compat
from trooper.providers.base import CallOptions
from trooper.redaction import remember_secret
from trooper.routing.admission import check_prompt_tokens, client_identity
from trooper.routing.classifier import forced_route
from trooper.routing.headers import Trail, trooper_headers
from trooper.routing.privacy import holds_private_data
from trooper.routing.router import Plan, RoutedError, Router
from trooper.server.base import BaseHandler, to_json
from trooper.server.body import LimitedBodyHandler
from trooper.server.secret import bearer_token
from trooper.wire import anthropic, compaction, openai
from trooper.wire.codec import AnswerCodec, DoorCodec, StreamEncoding
from trooper.wording import counted


class FrontDoor(LimitedBodyHandler):
    codec: DoorCodec
    source: str

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        return self.codec.encode_error(status, error_type, message)

    @property
    def runner(self) -> TurnRunner:
        return self.services.runner

    def client_key(self) -> str | None:
        """The API key the caller sent, in its protocol's header."""
        return None

    async def decode(self, body: dict[str, Any]) -> tuple[Request, str | None]:
        """The canonical request, and the session it continues when the body says so (None: the
        session is resolved from the headers and the request)."""
        return self.codec.decode_request(body), None

    @abc.abstractmethod
    def stream_encoder(self, request: Request) -> StreamEncoding:
        """What writes this request's answer as the client's stream."""

    @abc.abstractmethod
    def encode_response(self, response: Response) -> dict[str, Any]:
        """The answer as the client's response body."""

    def response_text(self, response: Response) -> str:
        """That body's JSON text, as sent."""
        return to_json(self.encode_response(response))

    def question_of(self, request: Request) -> list[Message]:
        """The history the turn records as its question: the request's own messages."""
        return request.messages

    def answered(self, session: LiveSession, place: TurnPlace, response: Response) -> None:
        """Keep what this door keeps of an answer besides its turn (at ``place``), in time for the
        turn's commit. The Messages and Chat Completions doors keep nothing more."""

    async def post(self) -> None:
        self.read_body()
        body = self.json_body()
        request, continued = await self.decode(body)
        headers = self.request.headers
        forced = forced_route(headers, body)
        if request.hosted_tools:  # refused before anything is recorded when nobody may run them
            self.runner.router.check_builtin_tools(request, forced)
        settings = self.state.settings
        if len(request.messages) > settings.max_messages:
            raise InvalidRequest(
                f"messages: {counted(len(request.messages), 'message')} is more than the limit of "
                f"{settings.max_messages} (TROOPER_MAX_MESSAGES)"
            )
        check_prompt_tokens(request, settings.max_request_tokens)
        try:
            ids = client_ids(headers)
        except InvalidSessionId as exc:
            raise InvalidRequest(str(exc)) from None
        runner = self.runner
        session = await runner.session_for(request, ids, self.source, client_name(headers), continued=continued)
        self.set_header("X-Trooper-Session", session.id)
        client_key = self.client_key()
        turn = runner.open(
            session, request, client=client_identity(self.request.remote_ip or "", client_key),
            question=self.question_of(request), options=call_options(headers, client_key),
        )
        try:
            plan = runner.plan(turn, forced)
            if request.stream:
                await self._stream(turn, plan)
            else:
                await self._complete(turn, plan)
        except TrooperError as exc:
            # Final: Trooper already retried and fell back, so SDKs must not retry on top.
            if isinstance(exc, RoutedError):
                exc.trail.tokens_saved = session.tokens_saved
                exc.headers.update(trooper_headers(exc.trail))
            exc.headers.update({"X-Trooper-Session": session.id, "x-should-retry": "false"})
            raise
        finally:
            await turn.book.question()  # a turn that failed keeps its question too

    # ------------------------------------------------------------------ answers

    async def _complete(self, turn: Turn, plan: Plan) -> None:
        # Durable acknowledgement: the turn is committed before the client receives a byte of it.
        answered = await self.runner.complete(turn, plan, self.answered)
        assert turn.trail is not None
        self._set_trooper_headers(turn.trail, turn.session)
        self.write_json_text(self.response_text(answered.response))

    async def _stream(self, turn: Turn, plan: Plan) -> None:
        assert turn.trail is not None
        encoder = self.stream_encoder(turn.request)
        events = self.runner.stream(turn, plan, self.answered)
        headers_sent = False
        try:
            async for event in events:
                if not headers_sent:
                    headers_sent = True
                    self._set_trooper_headers(turn.trail, turn.session)
                    self.start_event_stream()
                # Not waiting for a slow client here lets the answer finish upstream (and free its
                # slot) while what it has not read yet waits in memory, up to READ_AHEAD_BYTES.
                await self.send_bounded(encoder.encode(event))
            await self.drain_bounded()
        except (StreamClosedError, asyncio.TimeoutError):
            pass  # the client left (or stopped reading): closing the events stops the upstream
        finally:
            await events.aclose()
        if not self._finished:
            self.finish()

    def _set_trooper_headers(self, trail: Trail, session: LiveSession) -> None:
        trail.tokens_saved = session.tokens_saved
        for name, value in trooper_headers(trail).items():
            self.set_header(name, value)


class AnswerDoor(FrontDoor):
    """A door whose protocol writes an answer from the answer alone (Messages, Chat Completions)."""

    codec: AnswerCodec

    def stream_encoder(self, request: Request) -> StreamEncoding:
        return self.codec.StreamEncoder(request.model, include_usage=request.include_usage)

    def encode_response(self, response: Response) -> dict[str, Any]:
        return self.codec.encode_response(response)


class MessagesHandler(AnswerDoor):
    """``POST /v1/messages`` (Anthropic Messages API). A compaction request's answer is Claude's
    compaction block, whoever answered (``wire/compaction.py``); a threaded request's conversation
    is held by Trooper (``message_threads.py``)."""

    codec = anthropic
    source = "anthropic"
    compacting = False
    thread: anthropic.Thread | None = None

    async def decode(self, body: dict[str, Any]) -> tuple[Request, str | None]:
        request = anthropic.decode_request(body)
        self.compacting = request.asks_for_compaction() is not None
        self.thread = anthropic.decode_thread(body)
        previous = self.thread.previous_message_id if self.thread is not None else None
        if previous is None:
            return request, None
        place = await self.services.threads.place(previous)
        history = await self.services.sessions.history_at(place, self.source)
        return replace(request, messages=[*history, *request.messages]), place.session_id

    def stream_encoder(self, request: Request) -> StreamEncoding:
        encoder = super().stream_encoder(request)
        return compaction.CompactionStream(encoder) if self.compacting else encoder

    def encode_response(self, response: Response) -> dict[str, Any]:
        return super().encode_response(compaction.as_compaction(response) if self.compacting else response)

    def answered(self, session: LiveSession, place: TurnPlace, response: Response) -> None:
        """A threaded answer's id names its place, for the thread's next turn; an answer that
        compacted the conversation names this session for the history the client resends
        opening with that compaction."""
        if self.thread is not None:
            self.services.threads.keep(response.id, place)
        answer = compaction.as_compaction(response) if self.compacting else response
        for summary in filter(None, (block.summary() for block in answer.content if isinstance(block, HostedToolBlock))):
            self.runner.sessions.compacted(session, summary)

    def client_key(self) -> str | None:
        return anthropic_client_key(self.request.headers)


class ChatCompletionsHandler(AnswerDoor):
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
    """What a call upstream carries from its caller: the key, and the headers each provider passes
    on (Anthropic's version, betas, user profile and workspace; OpenAI's organization and project)."""
    remember_secret(api_key)  # an upstream that quotes it back must not show it, nor the log
    return CallOptions(api_key=api_key, forward_headers={h: headers[h] for h in _FORWARDED if h in headers})


_FORWARDED = (*anthropic_provider.FORWARDED_HEADERS, *openai_compat.ACCOUNT_HEADERS)


def model_entries(router: Router) -> list[dict[str, Any]]:
    """The models Trooper routes to, each as both the Anthropic and the OpenAI SDK read a model."""
    providers = [*router.cloud, *([router.local] if router.local is not None else [])]
    now = datetime.now(timezone.utc)
    return [
        {
            "id": p.model,
            "type": "model",
            "object": "model",
            "display_name": f"{p.model} ({p.name}, {p.tier})",
            "created_at": now.isoformat().replace("+00:00", "Z"),
            "created": int(now.timestamp()),
            "owned_by": p.name,
            "lifecycle": "active",
            "max_input_tokens": p.capabilities().context_window,
        }
        for p in providers
    ]


class ModelsHandler(BaseHandler):
    """``GET /v1/models``: one list that both the Anthropic and the OpenAI SDK accept."""

    def get(self) -> None:
        data = model_entries(self.services.router)
        self.write_json(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )


class ModelHandler(BaseHandler):
    """``GET /v1/models/{id}`` (both SDKs' ``models.retrieve``): one of the listed models, or a 404
    in the caller's error shape (Anthropic's when it sends ``anthropic-version``, else OpenAI's)."""

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        if "anthropic-version" in self.request.headers:
            return anthropic.encode_error(status, error_type, message)
        body = openai.encode_error(status, error_type, message)
        if status == 404:
            body["error"]["code"] = "model_not_found"  # OpenAI's code for a model it does not have
        return body

    def get(self, model_id: str) -> None:
        entries = model_entries(self.services.router)
        found = next((entry for entry in entries if entry["id"] == model_id), None)
        if found is None:
            listed = ", ".join(entry["id"] for entry in entries) or "none"
            raise TrooperError(404, f"model {model_id!r} is not one Trooper routes to (GET /v1/models lists them: {listed})", "not_found_error")
        self.write_json(found)


class CountTokensHandler(LimitedBodyHandler):
    """``POST /v1/messages/count_tokens``: Claude's exact count when the turn would go to Claude
    (Claude Code manages its context by it; an undercount becomes a "prompt is too long"), else
    Trooper's one token estimator; ``X-Trooper-Token-Count`` says which."""

    def error_body(self, status: int, error_type: str, message: str) -> dict:
        return anthropic.encode_error(status, error_type, message)

    async def post(self) -> None:
        self.read_body()
        body = dict(self.json_body())
        body.setdefault("max_tokens", 1)
        request = anthropic.decode_request(body)
        router = self.services.router
        try:
            # private data is not sent upstream to be counted: the estimate stays on the machine
            private = holds_private_data(self.state.settings, request)
            plan = None if private else router.plan(request, forced_route(self.request.headers, body))
        except TrooperError:
            plan = None  # no tier could answer it: the estimate still tells the client its size
        options = call_options(self.request.headers, anthropic_client_key(self.request.headers))
        if plan is None:
            tokens, counter = count_request_tokens(request.system, request.messages, request.tools), "estimate"
        else:
            tokens, counter = await router.count_tokens(request, plan, options)
        self.set_header("X-Trooper-Token-Count", counter)
        self.write_json({"input_tokens": tokens})


ROUTES = [
    (r"/v1/messages", MessagesHandler),
    (r"/v1/chat/completions", ChatCompletionsHandler),
    (r"/chat/completions", ChatCompletionsHandler),
    (r"/v1/models", ModelsHandler),
    (r"/v1/models/(.+)", ModelHandler),
    (r"/v1/messages/count_tokens", CountTokensHandler),
]
