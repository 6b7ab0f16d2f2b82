"""The base request handler: JSON in and out, errors in a clear shape, access to the app state."""

from __future__ import annotations

import asyncio
import json
from asyncio import Future
from collections import deque
from typing import TYPE_CHECKING, Any

import tornado.web

from trooper import json_text
from trooper.errors import TrooperError

if TYPE_CHECKING:
    from trooper.server.state import AppState, Services

#: A client that stops reading for this long is dropped, so it cannot pin memory.
WRITE_TIMEOUT_SECONDS = 60.0
#: What a stream may have written but not yet sent to a slow client before Trooper stops reading
#: the answer from upstream: most answers whole. So a client that stops reading lets its upstream
#: answer finish and frees its place among the answers in flight (TROOPER_MAX_STREAMS), holding at
#: most this much until WRITE_TIMEOUT_SECONDS drops it.
READ_AHEAD_BYTES = 256 * 1024


def to_json(payload: Any) -> str:
    """A response body's JSON text, as every handler writes it."""
    return json.dumps(payload, ensure_ascii=False, default=str)


class BaseHandler(tornado.web.RequestHandler):
    """Trooper's own JSON API. Errors are ``{"error": {"type": ..., "message": ...}}``.

    Front doors that speak a provider's protocol override ``error_body`` to use its shape.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: A stream's flushes not yet done, oldest first, with their sizes (``send_bounded``).
        self._unsent: deque[tuple[Future[None], int]] = deque()
        self._unsent_bytes = 0
        super().__init__(*args, **kwargs)

    @property
    def state(self) -> AppState:
        state: AppState = self.application.settings["trooper_state"]
        return state

    @property
    def services(self) -> Services:
        services = self.state.services
        if services is None:
            raise RuntimeError("this app was built without the proxy's services (the read-only APIs alone)")
        return services

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.write_json_text(to_json(payload), status)

    def write_json_text(self, text: str, status: int = 200) -> None:
        """Answer with a JSON body already serialised (``to_json``)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(text)

    def start_event_stream(self) -> None:
        """Headers of a Server-Sent Events answer; proxies (nginx) must not hold events back."""
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")

    async def send_bounded(self, chunk: bytes) -> None:
        """Write and flush ``chunk`` of a stream; wait only while more than ``READ_AHEAD_BYTES``
        written are still unsent, giving a client that stopped reading ``WRITE_TIMEOUT_SECONDS``
        (then ``asyncio.TimeoutError``; ``StreamClosedError`` when it left). Most flushes are done
        at once (the socket took the bytes): a timer runs only for one still pending."""
        self.write(chunk)
        self._unsent.append((self.flush(), len(chunk)))
        self._unsent_bytes += len(chunk)
        while self._unsent and (self._unsent[0][0].done() or self._unsent_bytes > READ_AHEAD_BYTES):
            flushed, size = self._unsent[0]
            await (flushed if flushed.done() else asyncio.wait_for(flushed, WRITE_TIMEOUT_SECONDS))
            self._unsent.popleft()
            self._unsent_bytes -= size

    async def drain_bounded(self) -> None:
        """Wait until everything a stream wrote is sent, within ``WRITE_TIMEOUT_SECONDS``."""
        if self._unsent:
            last = self._unsent[-1][0]
            await (last if last.done() else asyncio.wait_for(last, WRITE_TIMEOUT_SECONDS))
            self._unsent.clear()
            self._unsent_bytes = 0

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 that says what is wrong with it."""
        raw = self.request.body
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TrooperError(400, f"request body is not valid UTF-8 (byte {exc.start})") from None
        if not text.strip():
            raise TrooperError(400, "request body is empty; expected a JSON object")
        try:
            body = json_text.loads(text)
        except ValueError as exc:  # malformed, nested too deeply, NaN/Infinity, an integer past the digit limit
            detail = f"line {exc.lineno} column {exc.colno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise TrooperError(400, f"request body is not valid JSON ({detail})") from None
        if not isinstance(body, dict):
            raise TrooperError(400, f"request body must be a JSON object, not {type(body).__name__}")
        return body

    def require_json_content_type(self, what: str) -> None:
        """A 415 unless the body is labelled ``application/json``: stricter than the access gate,
        which refuses only the types a cross-site form can send."""
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise TrooperError(415, f"send {what} as JSON with Content-Type: application/json")

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": error_type, "message": message}}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        details: dict[str, Any] = {}
        if isinstance(exc, TrooperError):
            status, error_type, message, details = exc.status, exc.error_type, exc.message, exc.details
            for name, value in exc.headers.items():
                self.set_header(name, value)
        elif isinstance(exc, tornado.web.HTTPError):
            status = exc.status_code
            error_type = "not_found_error" if status == 404 else "invalid_request_error" if status < 500 else "api_error"
            message = exc.log_message % exc.args if exc.log_message and exc.args else exc.log_message or self._reason
        else:
            status, error_type, message = status_code, "api_error", "internal error in Trooper; see the server log"
        self.clear_header("Content-Type")
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        body = self.error_body(status, error_type, message)
        if details and isinstance(body.get("error"), dict):
            body["error"]["details"] = details
        self.finish(json.dumps(body, ensure_ascii=False))

    def _handle_request_exception(self, e: BaseException) -> None:
        # A TrooperError is an expected, explained failure: answer it without a traceback in the log.
        if isinstance(e, TrooperError) and not self._finished:
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)
