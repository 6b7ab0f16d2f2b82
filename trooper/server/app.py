"""The Tornado application factory: every route of Trooper in one table."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import tornado.httputil
import tornado.web
from tornado.log import access_log

from trooper.errors import TrooperError
from trooper.redaction import MASK, redact
from trooper.server import auth, chat_api, compact_door, health, keys_api, pages, proxy, responses_door, sessions_api
from trooper.server.auth import RefusedHandler, access_refusal
from trooper.server.base import BaseHandler
from trooper.server.state import AppState


class NotFoundHandler(BaseHandler):
    """Unknown routes get a JSON 404 that both SDKs can parse, whatever the method."""

    def prepare(self) -> None:
        raise TrooperError(404, f"no route for {self.request.method} {self.request.path}", "not_found_error")


#: Requests being answered that are tracked before the first sweep for clients gone.
ANSWERING_SWEEP_MIN = 64


class TrooperApplication(tornado.web.Application):
    """Every request passes the access check before it is routed (one gate, no handler can forget
    it), and the POSTs being answered are tracked so a graceful stop can wait for them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answering: set[tornado.httputil.HTTPServerRequest] = set()
        #: The size at which ``_answering`` is next swept for requests whose client left.
        self._sweep_at = ANSWERING_SWEEP_MIN

    # Tornado's own return type is its private _HandlerDelegate: named as it does.
    def find_handler(self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any) -> tornado.web._HandlerDelegate:
        refusal = access_refusal(request, self.settings["trooper_state"].settings)
        if refusal is not None:
            return self.get_handler_delegate(request, RefusedHandler, {"refusal": refusal})
        if request.method == "POST":
            self._answering.add(request)
            if len(self._answering) >= self._sweep_at:
                # A request whose client left before its handler ran is never logged: forget it
                # here, once the set has doubled (a sweep per POST cost one check per turn in flight).
                self._answering = {r for r in self._answering if not _client_gone(r)}
                self._sweep_at = max(ANSWERING_SWEEP_MIN, 2 * len(self._answering))
        return super().find_handler(request, **kwargs)

    def answering(self) -> bool:
        """Whether a POST (a turn, most often) is being answered now."""
        return bool(self._answering)

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        self._answering.discard(handler.request)
        services = self.settings["trooper_state"].services
        if services is not None and not self._answering:
            services.sessions.answered()  # its response has gone: the SITREPs that waited for it
        status = handler.get_status()
        level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
        if not access_log.isEnabledFor(level):  # off by default (TROOPER_ACCESS_LOG): no line, no URI to mask
            return
        request = handler.request
        elapsed_ms = 1000.0 * request.request_time()
        access_log.log(level, "%d %s %s (%s) %.2fms", status, request.method, logged_uri(request.uri or ""), request.remote_ip, elapsed_ms)

    async def wait_answered(self, timeout: float) -> bool:
        """Wait until every POST being answered has finished or lost its client; False on timeout."""
        deadline = time.monotonic() + timeout
        while any(not _client_gone(request) for request in self._answering):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True


_SECRET_PARAMETER = re.compile(r"token|key|secret|password|passwd|auth|signature|sig|code", re.IGNORECASE)


def logged_uri(uri: str) -> str:
    """The URI as the access log shows it: values of secret-looking parameters masked, keys redacted.

    A browser or a script may put the access token in a query string (``?token=…``); Tornado's
    own access log would keep it.
    """
    path, _, query = uri.partition("?")
    if not query:
        return redact(path)
    pairs = parse_qsl(query, keep_blank_values=True)
    masked = [(name, MASK if _SECRET_PARAMETER.search(name) else value) for name, value in pairs]
    return redact(f"{path}?{urlencode(masked, safe='*')}")


def _client_gone(request: tornado.httputil.HTTPServerRequest) -> bool:
    stream = getattr(request.connection, "stream", None)
    return stream is None or stream.closed()


def make_app(state: AppState) -> TrooperApplication:
    routes = [
        # The compaction route before the kept responses' (/v1/responses/{id}), which would take it.
        *proxy.ROUTES, *compact_door.ROUTES, *responses_door.ROUTES, *health.ROUTES, *sessions_api.ROUTES, *chat_api.ROUTES, *keys_api.ROUTES,
        *pages.ROUTES, *auth.ROUTES,
    ]
    return TrooperApplication(
        routes,
        trooper_state=state,
        default_handler_class=NotFoundHandler,
        compress_response=False,
        xsrf_cookies=False,
    )
