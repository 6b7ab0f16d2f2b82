"""Small read-only endpoints: health, the models Trooper routes to, token counts, SITREP, recovery."""

from __future__ import annotations

from datetime import datetime, timezone

from trooper import __version__
from trooper.errors import TrooperError
from trooper.memory.recovery import build_recovery
from trooper.memory.tokens import count_request_tokens
from trooper.routing.classifier import forced_route
from trooper.routing.privacy import holds_private_data, privacy_summary
from trooper.server.base import BaseHandler
from trooper.server.body import LimitedBodyHandler
from trooper.server.proxy import anthropic_client_key, call_options
from trooper.wire import anthropic


class HealthHandler(BaseHandler):
    def get(self) -> None:
        router = self.services.router
        local_tier = self.services.local_tier
        self.write_json(
            {
                "service": "trooper",
                "status": "ok",
                "version": __version__,
                "local": local_tier.describe(),
                "cloud": [p.name for p in router.cloud],
                "escalation": [p.name for p in router.escalation_chain()],
                "breakers": {name: state for name, state in router.breakers.states().items()},
                "privacy": privacy_summary(self.state.settings),
            }
        )

    head = get  # uptime checks ask with HEAD


class ModelsHandler(BaseHandler):
    """``GET /v1/models``: one list that both the Anthropic and the OpenAI SDK accept."""

    def get(self) -> None:
        router = self.services.router
        providers = list(router.cloud)
        if router.local is not None:
            providers.append(router.local)
        now = datetime.now(timezone.utc)
        data = [
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
        self.write_json(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )


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


class SitrepHandler(BaseHandler):
    async def get(self, session_id: str) -> None:
        session = await self._session(session_id)
        self.write_json({"session_id": session.id, **self.services.sessions.sitrep_now(session).to_dict()})

    async def _session(self, session_id: str):
        if await self.state.store.get_session(session_id) is None and self.services.sessions.peek(session_id) is None:
            raise TrooperError(404, f"no session with id {session_id!r}", "not_found_error")
        return await self.services.sessions.open(session_id, "unknown")


class RecoveryHandler(SitrepHandler):
    async def get(self, session_id: str) -> None:
        session = await self._session(session_id)
        self.write_json(build_recovery(session.id, session.messages, self.state.settings.context_window))


ROUTES = [
    (r"/health", HealthHandler),
    (r"/v1/models", ModelsHandler),
    (r"/v1/messages/count_tokens", CountTokensHandler),
    (r"/sitrep/([^/]+)", SitrepHandler),
    (r"/recovery/([^/]+)", RecoveryHandler),
]
