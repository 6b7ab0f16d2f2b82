"""The chat API behind the ``/chat`` page and the notebook ChatWidget: the one home of chat logic.

Local first: a message goes to the local model unless the session's route is ``cloud``. Escalate
answers the last question again with the escalation chain (Claude first) and the whole session as
context; return switches back, and the next local turn receives everything the cloud said
(compacted into the local window by the router). Answers stream as Server-Sent Events:
``start``, many ``delta``, then ``done`` (or ``error``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from tornado.iostream import StreamClosedError

from trooper.conversation import Message, MessageStart, Request, TextBlock, TextDelta
from trooper.engine.sessions import LiveSession, SessionService
from trooper.engine.turn_runner import Turn, TurnRunner
from trooper.errors import InvalidRequest, TrooperError
from trooper.markdown_html import render_markdown
from trooper.memory.identity import client_name
from trooper.privacy.turns import where
from trooper.routing.admission import client_identity
from trooper.routing.headers import Trail, decision_header, provider_header
from trooper.routing.privacy import private_findings
from trooper.routing.router import Plan, Router
from trooper.server.body import LimitedBodyHandler
from trooper.wire.sse import format_sse

CHAT_SOURCE = "chat"
CHAT_MODEL = "trooper-chat"
MAX_CHAT_MESSAGE_CHARS = 100_000
#: A chat request's body: a message of MAX_CHAT_MESSAGE_CHARS, escaped, with room to spare.
MAX_CHAT_BODY_BYTES = 4_000_000
ROUTES_ALLOWED = ("local", "cloud", "auto")
CHAT_MAX_TOKENS = 1024


def chat_history(messages: list[Message]) -> list[Message]:
    """The conversation to send, alternating roles: an answer superseded by an escalation gives way
    to the newer one, and a question whose answer was cancelled joins the next question."""
    history: list[Message] = []
    for message in messages:
        if history and history[-1].role == message.role == "assistant":
            history[-1] = message
        elif history and history[-1].role == message.role == "user":
            history[-1] = Message("user", history[-1].content + message.content)
        else:
            history.append(message)
    return history


def chat_request(messages: list[Message]) -> Request:
    """The next turn of a chat: the whole session, asked anew each turn, its prefix cached by Claude
    (the chat marks nothing, as an OpenAI client does not: ``Request.caches_unasked``)."""
    return Request(model=CHAT_MODEL, messages=chat_history(messages), max_tokens=CHAT_MAX_TOKENS, stream=True, caches_unasked=True)


def answer_label(provider: str, model: str, tier: str, trail: Trail | None = None) -> str:
    """``llama3.1:8b · local``, ``claude-haiku-4-5 · cloud``, ``ollama · fallback (529)``."""
    switch = trail.first_switch() if trail is not None else None
    if switch is not None:
        return f"{provider} · fallback ({switch.failure_label()})"
    return f"{model or provider} · {tier}"


class ChatHandler(LimitedBodyHandler):
    """The chat API's routes: a body is checked against ``MAX_CHAT_BODY_BYTES`` as it arrives,
    never buffered whole first (Tornado's own limit is 100 MB)."""

    def body_limit(self) -> int:
        return min(MAX_CHAT_BODY_BYTES, self.state.settings.max_body_bytes)

    @property
    def sessions(self) -> SessionService:
        return self.services.sessions

    @property
    def router(self) -> Router:
        return self.services.router

    @property
    def runner(self) -> TurnRunner:
        return self.services.runner

    async def chat_session(self, session_id: str) -> LiveSession:
        if self.state.store.shared:
            # The page sends only its new message: the session must be as the last replica left
            # it, not as this one last saw it.
            self.sessions.forget(session_id)
        if self.sessions.peek(session_id) is None:
            stored = await self.state.store.get_session(session_id)
            if stored is None or stored.get("source") != CHAT_SOURCE:
                raise TrooperError(404, f"no chat session with id {session_id!r}", "not_found_error")
        return await self.sessions.open(session_id, CHAT_SOURCE)

    def stats(self, session: LiveSession) -> dict[str, int | float]:
        return {
            "tokens_saved": session.tokens_saved, "escalations": session.escalations, "cost_spent": session.cost_spent,
            "cost_avoided": session.cost_avoided, "unpriced_turns": session.unpriced_turns,
        }


class ChatSessionsHandler(ChatHandler):
    async def post(self) -> None:
        client = client_name(self.request.headers, chat_api=True)
        session = await self.sessions.open("chat-" + secrets.token_hex(8), CHAT_SOURCE, client)
        await self.sessions.committed(session)  # stored before its id is given: any replica serves the next call
        self.write_json({"id": session.id, "route": session.route}, status=201)

    async def get(self) -> None:
        await self.state.store.flush()
        listed = await self.state.store.list_sessions(limit=200, offset=0, since=None)
        self.write_json([s for s in listed if s.get("source") == CHAT_SOURCE])


class ChatSessionHandler(ChatHandler):
    async def get(self, session_id: str) -> None:
        session = await self.chat_session(session_id)
        await self.state.store.flush()
        turns = await self.state.store.transcript(session_id)
        events = await self.state.store.events(session_id)
        messages = []
        for turn in turns:
            text = "".join(b.get("text", "") for b in turn["content"] if b.get("type") == "text")
            entry: dict[str, Any] = {"role": turn["role"], "text": text, "html": render_markdown(text)}
            if turn["role"] == "assistant":
                tier = turn.get("tier") or "cloud"
                entry.update(provider=turn.get("provider", ""), model=turn.get("model", ""), tier=tier,
                             label=answer_label(turn.get("provider", ""), turn.get("model", ""), tier),
                             stop_reason=turn.get("stop_reason", ""))
            entry["created_at"] = turn.get("created_at")
            messages.append(entry)
        self.write_json(
            {
                "id": session.id,
                "route": session.route,
                "messages": messages,
                "events": [{"kind": e["kind"], "detail": e.get("detail", {}), "created_at": e["created_at"]} for e in events],
                "sitrep": self.sessions.sitrep_now(session).to_dict(),
                "stats": self.stats(session),
                "cloud_available": bool(self.router.escalation_chain()),
                "private": private_findings(events) if session.private is not None else [],
            }
        )


class StreamingChatHandler(ChatHandler):
    """Answers a turn as Server-Sent Events."""

    async def answer(self, turn: Turn, plan: Plan, *, first_event: tuple[str, dict] | None = None) -> None:
        """Answer ``turn`` (its question recorded, its session's lock held) as ``plan`` says."""
        session = turn.session
        self.start_event_stream()
        self.set_header("X-Trooper-Session", session.id)
        if first_event is not None:
            await self._send(*first_event)
        events = self.runner.stream(turn, plan)
        trail = turn.trail
        assert trail is not None
        try:
            async for event in events:
                if isinstance(event, MessageStart):
                    provider = provider_header(trail)
                    await self._send("start", {"provider": provider, "model": event.model, "tier": self.router.tier_of(provider)})
                if isinstance(event, TextDelta) and event.text:
                    await self._send("delta", {"text": event.text})
        except TrooperError as exc:
            await self._send("error", {"message": exc.message})
            return
        except (StreamClosedError, asyncio.TimeoutError):
            return  # the person pressed stop or closed the tab; nothing half-written is recorded
        finally:
            await events.aclose()
        if turn.unstored is not None:  # "done" is the acknowledgement: the turn is on disk first
            await self._send("error", {"message": turn.unstored.message})
            return
        if turn.answer.error is not None:
            await self._send("error", {"message": f"The answer was cut off: {turn.answer.error.message}"})
            return
        assert turn.answered is not None, "a stream that ends without an error has its MessageStop"
        response, provider, tier = turn.answered.response, turn.answered.provider, turn.answered.tier
        text = response.text()
        await self._send(
            "done",
            {
                "provider": provider,
                "model": response.model,
                "tier": tier,
                "label": answer_label(provider, response.model, tier, trail),
                "decision": decision_header(trail),
                "tokens_in": response.usage.input_tokens,
                "tokens_out": response.usage.output_tokens,
                "stop_reason": response.stop_reason,
                "html": render_markdown(text),
                "sitrep": self.sessions.sitrep_now(session).to_dict(),
                "route": session.route,
                "stats": self.stats(session),
                "private": [{"finding": session.private}] if session.private is not None else [],
            },
        )

    def open_turn(self, session: LiveSession, request: Request) -> Turn:
        """A turn of ``session``, whose question is recorded and whose lock this handler holds."""
        client = client_identity(self.request.remote_ip or "", None)
        return self.runner.open(session, request, client=client, question=None)

    async def send_error_event(self, exc: TrooperError) -> None:
        """A turn that cannot start is still answered in the stream's own terms."""
        self.start_event_stream()
        await self._send("error", {"message": exc.message})

    async def _send(self, event: str, data: dict[str, Any]) -> None:
        await self.send_bounded(format_sse(json.dumps(data, ensure_ascii=False), event))
        if event in ("done", "error"):  # the answer's last event: the page must have it all
            await self.drain_bounded()


class ChatMessagesHandler(StreamingChatHandler):
    async def post(self, session_id: str) -> None:
        self.read_body()
        body = self.json_body()
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise InvalidRequest("content: expected a non-empty string")
        if len(content) > MAX_CHAT_MESSAGE_CHARS:
            raise InvalidRequest(f"content: longer than {MAX_CHAT_MESSAGE_CHARS} characters")
        session = await self.chat_session(session_id)
        # Without an explicit route the session's own applies: local until someone escalates.
        route = body.get("route") or session.route
        if route not in ROUTES_ALLOWED:
            raise InvalidRequest(f"route: expected one of {', '.join(ROUTES_ALLOWED)}")
        # A chat answers one turn at a time: a second tab's message waits for the first answer.
        async with session.lock:
            self.sessions.record_history(session, session.messages + [Message("user", [TextBlock(content)])])
            turn = self.open_turn(session, chat_request(session.messages))
            try:
                if route == "cloud":
                    plan = self.runner.plan(turn, escalate=True)
                else:
                    plan = self.runner.plan(turn, "local" if route == "local" else None)
            except TrooperError as exc:
                await self.send_error_event(exc)
                return
            await self.answer(turn, plan)


class ChatEscalateHandler(StreamingChatHandler):
    async def post(self, session_id: str) -> None:
        self.read_body()
        confirmed = bool(self.request.body.strip()) and self.json_body().get("confirm") is True
        session = await self.chat_session(session_id)
        if not any(m.role == "user" for m in session.messages):
            raise InvalidRequest("nothing to escalate yet: send a message first")
        if session.private is not None and self.state.settings.privacy == "local" and not confirmed:
            # The session holds private data: the person must say, knowing what was found.
            await self.ask_to_confirm(session)
            return
        async with session.lock:
            turn = self.open_turn(session, chat_request(_up_to_last_question(session.messages)))
            try:
                plan = self.runner.plan(turn, escalate=True, confirmed=confirmed)
            except TrooperError as exc:
                # The person asked for the cloud and did not get it: the dashboard says so too.
                self.sessions.record_event(session, "escalation_failed", reason=exc.message)
                await self.send_error_event(exc)
                return
            # A pinned session escalates one confirmed answer at a time: its next turns stay local.
            route = "local" if confirmed and session.private is not None else "cloud"
            self.sessions.set_route(session, route)
            escalated_to = plan.candidates[0].name
            self.sessions.record_event(session, "escalated", to=escalated_to)
            await self.answer(turn, plan, first_event=("escalated", {"route": route, "to": escalated_to}))

    async def ask_to_confirm(self, session: LiveSession) -> None:
        findings = private_findings(await self.state.store.events(session.id))
        listed = ", ".join(f"{f['finding']} ({where(int(f['turn']))})" for f in findings) or session.private
        self.start_event_stream()
        await self._send("confirm", {
            "message": f"This conversation holds private data: {listed}. Escalating sends the whole conversation, "
                       "with it, to the cloud. Escalate anyway?",
            "findings": findings,
        })
        await self.drain_bounded()


def _up_to_last_question(messages: list[Message]) -> list[Message]:
    last_user = max(i for i, m in enumerate(messages) if m.role == "user")
    return chat_history(messages[: last_user + 1])


class ChatReturnHandler(ChatHandler):
    async def post(self, session_id: str) -> None:
        session = await self.chat_session(session_id)
        if session.route != "local":
            self.sessions.set_route(session, "local")
            self.sessions.record_event(session, "returned")
            await self.sessions.committed(session)  # stored before it is acknowledged: any replica answers the next turn locally
        self.write_json({"route": "local"})


ROUTES = [
    (r"/api/chat/sessions", ChatSessionsHandler),
    (r"/api/chat/sessions/([^/]+)", ChatSessionHandler),
    (r"/api/chat/sessions/([^/]+)/messages", ChatMessagesHandler),
    (r"/api/chat/sessions/([^/]+)/escalate", ChatEscalateHandler),
    (r"/api/chat/sessions/([^/]+)/return", ChatReturnHandler),
]
