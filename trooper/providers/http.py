"""Shared httpx plumbing for HTTP upstreams: every failure becomes an ``UpstreamError``.

Mapping: an error status gives ``kind="http"`` with the upstream's own error type and message
(decoded by the protocol's codec) and ``Retry-After``; a timeout gives ``kind="timeout"``; any
other transport failure before the response gives ``kind="connect"``; a failure after the response
started (cut connection, malformed frame, missing terminator, in-stream error) gives
``kind="stream"``. Messages never include request headers, so API keys cannot leak into them.
"""

from __future__ import annotations

import abc
import email.utils
import time
from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any, Protocol

import httpx

from trooper.conversation import (
    BlockStart,
    MessageDelta,
    Request,
    Response,
    StreamEvent,
)
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions, Provider
from trooper.wire.errors import UpstreamStreamError, WireError

ErrorDecoder = Callable[[int, bytes], "tuple[str, str]"]

#: Headers worth keeping on an UpstreamError (the router reads rate-limit hints from them).
_KEPT_HEADERS = ("retry-after", "retry-after-ms", "x-request-id", "request-id", "anthropic-ratelimit-requests-reset")


class StreamDecoder(Protocol):
    def feed(self, data: bytes) -> list[StreamEvent]: ...

    def finish(self) -> list[StreamEvent]: ...


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
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
    return max(0.0, when.timestamp() - time.time())


def complete_timeout(options: CallOptions) -> httpx.Timeout:
    return httpx.Timeout(options.total_timeout, connect=options.connect_timeout)


def stream_timeout(options: CallOptions) -> httpx.Timeout:
    # Reads are unbounded here: the router enforces first-token and idle timeouts around the stream.
    return httpx.Timeout(None, connect=options.connect_timeout, pool=options.connect_timeout)


class _ContentCheck:
    """Refuses a message that ends (``MessageDelta``) before any content block started."""

    def __init__(self) -> None:
        self.has_content = False

    def check(self, events: list[StreamEvent]) -> list[StreamEvent]:
        for event in events:
            self.has_content = self.has_content or isinstance(event, BlockStart)
            if isinstance(event, MessageDelta) and not self.has_content:
                raise WireError("upstream finished the stream without any content")
        return events


class HttpUpstream:
    """POSTs JSON to one upstream and maps every failure to ``UpstreamError``."""

    def __init__(self, provider: str, client: httpx.AsyncClient, decode_error: ErrorDecoder) -> None:
        self.provider = provider
        self._client = client
        self._decode_error = decode_error

    async def post_json(self, url: str, headers: dict[str, str], body: dict[str, Any], timeout: httpx.Timeout) -> dict[str, Any]:
        try:
            response = await self._client.post(url, headers=headers, json=body, timeout=timeout)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, started=False) from None
        if response.status_code >= 400:
            raise self._status_error(response, response.content)
        try:
            parsed = response.json()
        except ValueError:
            raise UpstreamError(self.provider, "stream", f"response body is not JSON: {response.text[:200]!r}", status=response.status_code) from None
        if not isinstance(parsed, dict):
            raise UpstreamError(self.provider, "stream", "response body is not a JSON object", status=response.status_code)
        return parsed

    async def post_stream(
        self, url: str, headers: dict[str, str], body: dict[str, Any], timeout: httpx.Timeout, decoder: StreamDecoder
    ) -> AsyncIterator[StreamEvent]:
        """Canonical events decoded from the response body as its bytes arrive.

        A stream that ends without a single content block is an error, never an empty success.
        """
        started = False
        try:
            async with self._client.stream("POST", url, headers=headers, json=body, timeout=timeout) as response:
                if response.status_code >= 400:
                    raise self._status_error(response, await response.aread())
                started = True
                seen = _ContentCheck()
                async for chunk in response.aiter_bytes():
                    for event in seen.check(decoder.feed(chunk)):
                        yield event
                for event in seen.check(decoder.finish()):
                    yield event
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, started=started) from None
        except UpstreamStreamError as exc:
            raise UpstreamError(self.provider, "stream", exc.message, error_type=exc.error_type) from None
        except WireError as exc:
            raise UpstreamError(self.provider, "stream", str(exc)) from None

    def decode_response(self, decode: Callable[[dict[str, Any]], Response], body: dict[str, Any]) -> Response:
        """The codec's reading of ``body``; a malformed or empty answer is an error, never a success."""
        try:
            response = decode(body)
        except WireError as exc:
            raise UpstreamError(self.provider, "stream", str(exc)) from None
        if not response.content:
            raise UpstreamError(self.provider, "stream", "upstream answered with no content")
        return response

    def _status_error(self, response: httpx.Response, body: bytes) -> UpstreamError:
        error_type, message = self._decode_error(response.status_code, body)
        headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
        return UpstreamError(
            self.provider,
            "http",
            message,
            status=response.status_code,
            body=body.decode("utf-8", errors="replace")[:2000],
            retry_after=retry_after(response.headers),
            error_type=error_type,
            headers=headers,
        )

    def _transport_error(self, exc: httpx.HTTPError, *, started: bool) -> UpstreamError:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, httpx.TimeoutException):
            phase = "connect" if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)) else "read"
            return UpstreamError(self.provider, "timeout", f"{phase} timeout ({detail})", error_type="timeout_error")
        if started:
            return UpstreamError(self.provider, "stream", f"stream broke ({detail})")
        return UpstreamError(self.provider, "connect", f"cannot reach upstream ({detail})")



class CodecProvider(Provider):
    """A provider reached by POSTing one wire codec's JSON to ``url``: encode, send, decode.

    Subclasses set ``codec`` (a ``trooper.wire`` module), ``url`` and ``_http``, and say which
    headers authenticate a call.
    """

    codec: ModuleType
    url: str
    _http: HttpUpstream

    @abc.abstractmethod
    def _headers(self, options: CallOptions) -> dict[str, str]: ...

    async def complete(self, request: Request, options: CallOptions) -> Response:
        body = self.codec.encode_request(request, self.upstream_model(request.model), stream=False)
        raw = await self._http.post_json(self.url, self._headers(options), body, complete_timeout(options))
        return self._http.decode_response(self.codec.decode_response, raw)

    async def stream(self, request: Request, options: CallOptions) -> AsyncIterator[StreamEvent]:
        body = self.codec.encode_request(request, self.upstream_model(request.model), stream=True)
        events = self._http.post_stream(self.url, self._headers(options), body, stream_timeout(options), self.codec.StreamDecoder())
        async for event in events:
            yield event
