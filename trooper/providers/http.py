"""Shared plumbing of HTTP upstreams (over aiohttp): every failure becomes an ``UpstreamError``.

Mapping: an error status gives ``kind="http"`` with the upstream's own error type and message
(decoded by the protocol's codec) and ``Retry-After``; a timeout gives ``kind="timeout"``; any
other transport failure before the response gives ``kind="connect"``, whose ``error_type`` is
``connection_refused`` or ``connection_reset`` when the upstream refused the connection or dropped
it before any response byte (the router retries those once); a failure after the response
started (cut connection, malformed frame, missing terminator, in-stream error) gives
``kind="stream"``. Messages never include request headers, so API keys cannot leak into them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import email.utils
import errno
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp

from trooper import json_text
from trooper.conversation import (
    BlockStart,
    EventStream,
    MessageDelta,
    Request,
    Response,
    StreamEvent,
)
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions, Provider
from trooper.providers.upstream_client import TRANSPORT_ERRORS, open_single_use_client
from trooper.wire.codec import StreamDecoding, UpstreamCodec
from trooper.wire.errors import EmptyStream, UpstreamStreamError, WireError

ErrorDecoder = Callable[[int, bytes], "tuple[str, str]"]

#: Headers worth keeping on an UpstreamError (the router reads rate-limit hints from them).
_KEPT_HEADERS = ("retry-after", "retry-after-ms", "x-request-id", "request-id", "anthropic-ratelimit-requests-reset")

#: The ``error_type`` of a connection refused or dropped before the response, by socket error.
#: A broken pipe is the reset seen while the request was still being written.
_DROPPED_BY_ERRNO = {errno.ECONNREFUSED: "connection_refused", errno.ECONNRESET: "connection_reset", errno.EPIPE: "connection_reset"}


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the upstream asks to wait, from ``retry-after-ms`` (preferred: more precise) or
    ``retry-after`` (delta seconds or an HTTP date); None when absent or unreadable. The one
    reading of these headers: the router's policy takes it from ``UpstreamError.retry_after``."""
    lowered = {name.lower(): value.strip() for name, value in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _complete_timeout(options: CallOptions) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=options.total_timeout, connect=options.connect_timeout)


def _stream_timeout(options: CallOptions) -> aiohttp.ClientTimeout:
    # Reads are unbounded here: the router enforces first-token and idle timeouts around the stream.
    return aiohttp.ClientTimeout(total=None, connect=options.connect_timeout)


class _ContentCheck:
    """Refuses a message that ends (``MessageDelta``) before any content block started."""

    def __init__(self) -> None:
        self.has_content = False

    def check(self, events: list[StreamEvent]) -> list[StreamEvent]:
        for event in events:
            self.has_content = self.has_content or isinstance(event, BlockStart)
            if isinstance(event, MessageDelta) and not self.has_content:
                raise EmptyStream("upstream finished the stream without any content")
        return events


class HttpUpstream:
    """POSTs JSON to one upstream over the shared client and maps every failure to ``UpstreamError``."""

    def __init__(self, provider: str, client: aiohttp.ClientSession, decode_error: ErrorDecoder) -> None:
        self.provider = provider
        self._client = client
        self._decode_error = decode_error

    async def post_json(self, url: str, headers: dict[str, str], body: dict[str, Any], options: CallOptions) -> dict[str, Any]:
        started = False
        try:
            async with self._client_for(options) as client, client.post(
                url, headers=headers, json=body, timeout=_complete_timeout(options)
            ) as response:
                started = True
                content = await response.read()
        except asyncio.TimeoutError as exc:
            raise self._timeout_error(exc) from None
        except TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, started=started) from None
        if response.status >= 400:
            raise self._status_error(response, content)
        try:
            parsed = json_text.loads(content)
        except ValueError:
            text = content.decode("utf-8", errors="replace")
            raise UpstreamError(self.provider, "stream", f"response body is not JSON: {text[:200]!r}", status=response.status) from None
        if not isinstance(parsed, dict):
            raise UpstreamError(self.provider, "stream", "response body is not a JSON object", status=response.status)
        return parsed

    async def post_stream(
        self, url: str, headers: dict[str, str], body: dict[str, Any], options: CallOptions, decoder: StreamDecoding
    ) -> EventStream:
        """Canonical events decoded from the response body as its bytes arrive.

        A stream that ends without a single content block is an error, never an empty success.
        """
        started = False
        try:
            async with self._client_for(options) as client, client.post(
                url, headers=headers, json=body, timeout=_stream_timeout(options)
            ) as response:
                started = True
                if response.status >= 400:
                    raise self._status_error(response, await response.read())
                seen = _ContentCheck()
                async for chunk in _received(response.content):
                    for event in seen.check(decoder.feed(chunk)):
                        yield event
                for event in seen.check(decoder.finish()):
                    yield event
        except asyncio.TimeoutError as exc:
            raise self._timeout_error(exc) from None
        except TRANSPORT_ERRORS as exc:
            raise self._transport_error(exc, started=started) from None
        except UpstreamStreamError as exc:
            raise UpstreamError(self.provider, "stream", exc.message, error_type=exc.error_type) from None
        except WireError as exc:
            raise UpstreamError(self.provider, "stream", str(exc), error_type=exc.error_type) from None

    def decode_response(self, decode: Callable[[dict[str, Any]], Response], body: dict[str, Any]) -> Response:
        """The codec's reading of ``body``; a malformed or empty answer is an error, never a success."""
        try:
            response = decode(body)
        except WireError as exc:
            raise UpstreamError(self.provider, "stream", str(exc)) from None
        if not response.content:
            raise UpstreamError(self.provider, "stream", "upstream answered with no content")
        return response

    @contextlib.asynccontextmanager
    async def _client_for(self, options: CallOptions) -> AsyncIterator[aiohttp.ClientSession]:
        """The shared pooled client, or a single-use one when the call asks for a fresh connection."""
        if not options.fresh_connection:
            yield self._client
            return
        async with open_single_use_client() as client:
            yield client

    def _status_error(self, response: aiohttp.ClientResponse, body: bytes) -> UpstreamError:
        error_type, message = self._decode_error(response.status, body)
        headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
        return UpstreamError(
            self.provider,
            "http",
            message,
            status=response.status,
            body=body.decode("utf-8", errors="replace")[:2000],
            retry_after=retry_after(response.headers),
            error_type=error_type,
            headers=headers,
        )

    def _timeout_error(self, exc: BaseException) -> UpstreamError:
        # aiohttp's connect budget covers waiting for a pooled connection and opening one.
        phase = "connect" if isinstance(exc, aiohttp.ConnectionTimeoutError) else "read"
        return UpstreamError(self.provider, "timeout", f"{phase} timeout ({_describe(exc)})", error_type="timeout_error")

    def _transport_error(self, exc: BaseException, *, started: bool) -> UpstreamError:
        """``started``: the response's status line and headers had arrived."""
        if started:
            return UpstreamError(self.provider, "stream", f"stream broke ({_describe(exc)})")
        return UpstreamError(self.provider, "connect", f"cannot reach upstream ({_describe(exc)})", error_type=_dropped(exc))


async def _received(body: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The body as it arrives, one HTTP chunk at a time (a frame each, from most upstreams, so a
    malformed or error frame does not swallow the good frames sent before it).

    When the connection breaks, aiohttp raises before handing over bytes it had already received;
    those are yielded first, so the router can continue a cut answer from its last frame.
    """
    try:
        async for chunk, _ in body.iter_chunks():
            if chunk:
                yield chunk
    except TRANSPORT_ERRORS:
        # aiohttp has no public way to read what it buffered before the error (3.10-3.14).
        buffered = b"".join(getattr(body, "_buffer", ()))[getattr(body, "_buffer_offset", 0):]
        if buffered:
            yield buffered
        raise


def _dropped(exc: BaseException) -> str:
    """``connection_refused`` or ``connection_reset`` when the upstream refused the connection or
    dropped it before its response began; "" for other failures to connect (DNS, TLS, no route).

    aiohttp reports a reset the same way whether or not part of a status line preceded it, but it
    hands over the part of a response that arrived before a clean close: that is not a drop.
    """
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection_reset" if isinstance(exc.message, str) else ""
    if isinstance(exc, ConnectionResetError):  # aiohttp's "Cannot write to closing transport" has no errno
        return "connection_reset"
    number = getattr(exc, "errno", None)
    return _DROPPED_BY_ERRNO.get(number, "") if isinstance(number, int) else ""


def _describe(exc: BaseException) -> str:
    """``Type: message``; aiohttp's messages name the host and URL, never the request headers."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class CodecProvider(Provider):
    """A provider reached by POSTing one wire codec's JSON to ``url``: encode, send, decode.

    Subclasses set ``codec`` (a ``trooper.wire`` module), ``url`` and ``_http``, and say which
    headers authenticate a call.
    """

    codec: UpstreamCodec
    url: str
    _http: HttpUpstream
    #: Options of this provider's ``codec.encode_request`` beyond the common ones.
    encode_options: Mapping[str, Any] = {}

    @abc.abstractmethod
    def _headers(self, options: CallOptions, body: Mapping[str, Any]) -> dict[str, str]:
        """The headers of a call sending ``body`` (a feature it uses may need one)."""

    def _encode(self, request: Request, *, stream: bool) -> dict[str, Any]:
        return self.codec.encode_request(request, self.upstream_model(request.model), stream=stream, **self.encode_options)

    async def complete(self, request: Request, options: CallOptions) -> Response:
        body = self._encode(request, stream=False)
        raw = await self._http.post_json(self.url, self._headers(options, body), body, options)
        return self._http.decode_response(self.codec.decode_response, raw)

    async def stream(self, request: Request, options: CallOptions) -> EventStream:
        body = self._encode(request, stream=True)
        events = self._http.post_stream(self.url, self._headers(options, body), body, options, self.codec.StreamDecoder())
        async for event in events:
            yield event
