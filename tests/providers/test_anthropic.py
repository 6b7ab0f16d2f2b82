import json
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from trooper.conversation import Message, Request, StreamAccumulator, TextBlock, ToolUseBlock, Usage
from trooper.errors import UpstreamError
from trooper.providers.anthropic import AnthropicProvider
from trooper.providers.base import CallOptions
from trooper.providers.http import retry_after

URL = "https://api.anthropic.test/v1/messages"
KEY = "sk-ant-secret-key"
REQUEST = Request(model="gpt-4o", messages=[Message("user", [TextBlock("hi")])], max_tokens=50)

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "Hello"}, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 4},
}


def _sse(*events: tuple[str, dict]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


STREAM = _sse(
    ("message_start", {"type": "message_start", "message": {**MESSAGE, "content": [], "stop_reason": None, "usage": {"input_tokens": 3, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 2}}),
    ("message_stop", {"type": "message_stop"}),
)


def _provider(handler, **kwargs) -> AnthropicProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AnthropicProvider(url=URL, api_key=KEY, model="claude-haiku-4-5", client=client, **kwargs)


async def _collect(provider: AnthropicProvider, options: CallOptions | None = None) -> list:
    return [event async for event in provider.stream(REQUEST, options or CallOptions())]


async def test_complete_sends_headers_and_the_configured_model() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=MESSAGE)

    options = CallOptions(forward_headers={"Anthropic-Beta": "tools-2024", "anthropic-version": "2024-01-01", "cookie": "x"})
    response = await _provider(handler).complete(REQUEST, options)
    assert response.content == [TextBlock("Hello"), ToolUseBlock("toolu_1", "f", {"a": 1})]
    assert response.stop_reason == "tool_use" and response.usage == Usage(3, 4)
    sent = seen[0]
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-beta"] == "tools-2024"
    assert sent.headers["anthropic-version"] == "2024-01-01" and "cookie" not in sent.headers
    body = json.loads(sent.content)
    assert body["model"] == "claude-haiku-4-5" and body["stream"] is False and body["max_tokens"] == 50


async def test_callers_own_key_wins_and_claude_models_pass_through() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=MESSAGE)

    provider = _provider(handler)
    await provider.complete(Request(model="claude-opus-4-1", messages=REQUEST.messages), CallOptions(api_key="sk-caller"))
    assert seen[0].headers["x-api-key"] == "sk-caller" and json.loads(seen[0].content)["model"] == "claude-opus-4-1"
    assert provider.upstream_model("llama3.1") == "claude-haiku-4-5"
    assert provider.capabilities().context_window == 200_000


async def test_http_error_carries_type_message_and_retry_after_but_never_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of requests has exceeded your rate limit"}}
        return httpx.Response(429, json=body, headers={"retry-after": "7"})

    with pytest.raises(UpstreamError) as caught:
        await _provider(handler).complete(REQUEST, CallOptions())
    error = caught.value
    assert (error.kind, error.status, error.error_type, error.retry_after) == ("http", 429, "rate_limit_error", 7.0)
    assert "exceeded your rate limit" in error.message
    assert KEY not in str(error) and KEY not in error.body and KEY not in repr(error)


async def test_stream_http_error_before_any_byte() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, headers={"retry-after-ms": "1500"})

    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(handler))
    assert (caught.value.kind, caught.value.status, caught.value.error_type, caught.value.retry_after) == ("http", 529, "overloaded_error", 1.5)


async def test_stream_yields_events_and_asks_for_a_stream() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})

    events = await _collect(_provider(handler))
    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    assert accumulator.finished and accumulator.response().content == [TextBlock("Hi")]
    assert json.loads(seen[0].content)["stream"] is True


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (STREAM[: STREAM.index(b"event: message_stop")], "without message_stop"),
        (STREAM.replace(b'"text": "Hi"}', b'"text": "Hi"'), "not JSON"),
        (_sse(("message_start", {"type": "message_start", "message": {**MESSAGE, "content": []}}), ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 0}}), ("message_stop", {"type": "message_stop"})), "without any content"),
    ],
)
async def test_broken_streams_raise_stream_errors(body: bytes, fragment: str) -> None:
    provider = _provider(lambda request: httpx.Response(200, content=body))
    with pytest.raises(UpstreamError) as caught:
        await _collect(provider)
    assert caught.value.kind == "stream" and fragment in caught.value.message


async def test_in_stream_error_event_keeps_its_type() -> None:
    body = STREAM[: STREAM.index(b"event: content_block_stop")] + _sse(("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(lambda request: httpx.Response(200, content=body)))
    assert (caught.value.kind, caught.value.error_type, caught.value.message) == ("stream", "overloaded_error", "Overloaded")


async def test_empty_or_malformed_complete_is_not_a_success() -> None:
    empty = _provider(lambda request: httpx.Response(200, json={**MESSAGE, "content": []}))
    with pytest.raises(UpstreamError, match="no content"):
        await empty.complete(REQUEST, CallOptions())
    not_json = _provider(lambda request: httpx.Response(200, content=b"<html>"))
    with pytest.raises(UpstreamError) as caught:
        await not_json.complete(REQUEST, CallOptions())
    assert caught.value.kind == "stream"


@pytest.mark.parametrize(
    ("exception", "kind"),
    [(httpx.ConnectError("refused"), "connect"), (httpx.ConnectTimeout("slow"), "timeout"), (httpx.ReadTimeout("slow"), "timeout")],
)
async def test_transport_failures_map_to_kinds(exception: Exception, kind: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    with pytest.raises(UpstreamError) as caught:
        await _provider(handler).complete(REQUEST, CallOptions())
    assert caught.value.kind == kind and caught.value.status == 0


async def test_stream_cut_after_the_response_started_is_a_stream_error() -> None:
    class CutStream(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield STREAM[:200]
            raise httpx.RemoteProtocolError("peer closed connection")

    provider = _provider(lambda request: httpx.Response(200, stream=CutStream()))
    with pytest.raises(UpstreamError) as caught:
        await _collect(provider)
    assert caught.value.kind == "stream" and "RemoteProtocolError" in caught.value.message


async def test_connect_timeout_comes_from_call_options() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, content=STREAM)

    await _collect(_provider(handler), CallOptions(connect_timeout=1.25))
    assert seen[0]["connect"] == 1.25 and seen[0]["read"] is None


async def test_missing_key_is_unavailable() -> None:
    provider = AnthropicProvider(url=URL, api_key="", model="m", client=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200))))
    assert not await provider.available()
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(REQUEST, CallOptions())
    assert caught.value.kind == "unavailable"


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "9"})) == 0.25
    assert retry_after(httpx.Headers({"retry-after": "3"})) == 3.0
    future = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after(httpx.Headers({"retry-after": future})) <= 31
    assert retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after(httpx.Headers({})) is None
