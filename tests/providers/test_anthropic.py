"""AnthropicProvider against the fake Anthropic server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import email.utils
import json
import time

import aiohttp
import pytest
from multidict import CIMultiDict

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.behaviours import (
    HttpError,
    connection_reset,
    hang,
    http_error,
    malformed_chunk,
    missing_terminator,
    rate_limited,
    reply_text,
    reply_tool_calls,
    stream_cut,
    stream_error,
    tool_call,
)
from trooper.conversation import Message, Request, StreamAccumulator, TextBlock, TextDelta, ToolUseBlock
from trooper.errors import UpstreamError
from trooper.providers.anthropic import AnthropicProvider
from trooper.providers.base import CallOptions
from trooper.providers.http import retry_after

KEY = "sk-ant-secret-key"
REQUEST = Request(model="gpt-4o", messages=[Message("user", [TextBlock("hi")])], max_tokens=50)

EMPTY_MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5", "content": [],
    "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 3, "output_tokens": 0},
}


def _sse(*events: tuple[str, dict]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def verbatim(body: str) -> HttpError:
    """A 200 answer with exactly this body (the fakes' raw-body hook, with a success status)."""
    return http_error(200, body=body)


EMPTY_STREAM = _sse(
    ("message_start", {"type": "message_start", "message": EMPTY_MESSAGE}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 0}}),
    ("message_stop", {"type": "message_stop"}),
)


def _provider(url: str, client: aiohttp.ClientSession, **kwargs) -> AnthropicProvider:
    return AnthropicProvider(url=url, api_key=KEY, model="claude-haiku-4-5", client=client, **kwargs)


async def _collect(provider: AnthropicProvider, options: CallOptions | None = None) -> list:
    return [event async for event in provider.stream(REQUEST, options or CallOptions())]


async def test_complete_sends_headers_and_the_configured_model(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(reply_tool_calls(tool_call("f", {"a": 1}, id="toolu_1"), text="Hello"))
    options = CallOptions(forward_headers={"Anthropic-Beta": "tools-2024", "anthropic-version": "2024-01-01", "cookie": "x"})

    response = await _provider(fake_anthropic.messages_url, client).complete(REQUEST, options)

    assert response.content == [TextBlock("Hello"), ToolUseBlock("toolu_1", "f", {"a": 1})]
    sent = fake_anthropic.last_request
    assert response.stop_reason == "tool_use"
    assert response.usage.input_tokens == sent.input_tokens() and response.usage.output_tokens > 0
    assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-beta"] == "tools-2024"
    assert sent.headers["anthropic-version"] == "2024-01-01" and "cookie" not in sent.headers
    assert sent.json["model"] == "claude-haiku-4-5" and sent.json["stream"] is False and sent.json["max_tokens"] == 50


async def test_cookies_an_upstream_sets_are_not_sent_back(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    # One client serves every caller: an upstream's cookie must not follow one caller's turn into another's.
    answer = json.dumps({**EMPTY_MESSAGE, "content": [{"type": "text", "text": "hi"}]})
    fake_anthropic.enqueue(http_error(200, body=answer, headers={"Set-Cookie": "__cf_bm=caller-one; Path=/"}))
    # By a host name: aiohttp's default jar ignores cookies from IP addresses, real APIs have names.
    provider = _provider(fake_anthropic.messages_url.replace("127.0.0.1", "localhost"), client)

    await provider.complete(REQUEST, CallOptions(api_key="sk-caller-one"))
    await provider.complete(REQUEST, CallOptions(api_key="sk-caller-two"))

    assert "cookie" not in fake_anthropic.last_request.headers


async def test_callers_own_key_wins_and_claude_models_pass_through(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    provider = _provider(fake_anthropic.messages_url, client)

    await provider.complete(Request(model="claude-opus-4-1", messages=REQUEST.messages), CallOptions(api_key="sk-caller"))

    assert fake_anthropic.last_request.headers["x-api-key"] == "sk-caller"
    assert fake_anthropic.last_request.json["model"] == "claude-opus-4-1"
    assert provider.upstream_model("llama3.1") == "claude-haiku-4-5"
    assert provider.capabilities().context_window == 200_000


async def test_http_error_carries_type_message_and_retry_after_but_never_the_key(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(rate_limited(retry_after=7))

    with pytest.raises(UpstreamError) as caught:
        await _provider(fake_anthropic.messages_url, client).complete(REQUEST, CallOptions())

    error = caught.value
    assert (error.kind, error.status, error.error_type, error.retry_after) == ("http", 429, "rate_limit_error", 7.0)
    assert "exceed the rate limit" in error.message
    assert KEY not in str(error) and KEY not in error.body and KEY not in repr(error)


async def test_stream_http_error_before_any_byte(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(http_error(529, "Overloaded", type="overloaded_error", retry_after_ms=1500))

    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(fake_anthropic.messages_url, client))

    assert (caught.value.kind, caught.value.status, caught.value.error_type, caught.value.retry_after) == ("http", 529, "overloaded_error", 1.5)


async def test_stream_yields_events_and_asks_for_a_stream(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(reply_text("Hi"))

    events = await _collect(_provider(fake_anthropic.messages_url, client))

    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    assert accumulator.finished and accumulator.response().content == [TextBlock("Hi")]
    assert fake_anthropic.last_request.json["stream"] is True


async def test_stream_events_arrive_as_the_upstream_sends_them(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(reply_text("one two three", chunk_delay=0.3))
    arrivals: list[float] = []

    async for event in _provider(fake_anthropic.messages_url, client).stream(REQUEST, CallOptions()):
        if isinstance(event, TextDelta):
            arrivals.append(time.monotonic())

    assert len(arrivals) == 3
    assert arrivals[-1] - arrivals[0] >= 0.45  # not buffered until the end of the body


@pytest.mark.parametrize(
    ("behaviour", "fragment"),
    [
        (missing_terminator(), "without message_stop"),
        (malformed_chunk(), "not JSON"),
        (verbatim(EMPTY_STREAM), "without any content"),
        (stream_cut(after=1), "stream broke"),
    ],
    ids=["missing-terminator", "malformed-frame", "no-content", "cut"],
)
async def test_broken_streams_raise_stream_errors(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession, behaviour, fragment: str) -> None:
    fake_anthropic.enqueue(behaviour)

    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(fake_anthropic.messages_url, client))

    assert caught.value.kind == "stream" and fragment in caught.value.message


async def test_in_stream_error_event_keeps_its_type(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(stream_error(after=1))

    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(fake_anthropic.messages_url, client))

    assert (caught.value.kind, caught.value.error_type, caught.value.message) == ("stream", "overloaded_error", "Overloaded")


async def test_empty_or_malformed_complete_is_not_a_success(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    provider = _provider(fake_anthropic.messages_url, client)
    fake_anthropic.enqueue(verbatim(json.dumps(EMPTY_MESSAGE)), verbatim("<html>"))

    with pytest.raises(UpstreamError, match="no content"):
        await provider.complete(REQUEST, CallOptions())
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(REQUEST, CallOptions())
    assert caught.value.kind == "stream" and "not JSON" in caught.value.message


async def test_a_complete_answer_cut_after_its_headers_is_a_stream_error(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(stream_cut(after=1))

    with pytest.raises(UpstreamError) as caught:
        await _provider(fake_anthropic.messages_url, client).complete(REQUEST, CallOptions())
    assert caught.value.kind == "stream", "the upstream was reached: it answered, then broke"


async def test_refused_and_reset_connections_are_connect_errors(
    fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession, refused_url: str
) -> None:
    fake_anthropic.enqueue(connection_reset(), hang(0))  # hang(0): a close (FIN) with nothing sent

    dropped = [(refused_url, "connection_refused"), (fake_anthropic.messages_url, "connection_reset"),
               (fake_anthropic.messages_url, "connection_reset")]
    for url, error_type in dropped:
        with pytest.raises(UpstreamError) as caught:
            await _provider(url, client).complete(REQUEST, CallOptions())
        assert (caught.value.kind, caught.value.error_type, caught.value.status) == ("connect", error_type, 0)
        assert KEY not in str(caught.value)


async def test_a_stream_reset_before_any_byte_is_a_dropped_connection(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    fake_anthropic.enqueue(connection_reset())

    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(fake_anthropic.messages_url, client))
    assert (caught.value.kind, caught.value.error_type) == ("connect", "connection_reset")


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_a_reset_after_the_status_line_is_a_stream_error(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession, stream: bool) -> None:
    fake_anthropic.enqueue(reply_text().reset_after(0))
    provider = _provider(fake_anthropic.messages_url, client)

    with pytest.raises(UpstreamError) as caught:
        await (_collect(provider) if stream else provider.complete(REQUEST, CallOptions()))
    assert caught.value.kind == "stream"


async def test_a_fresh_connection_is_opened_for_the_call_and_the_pool_left_alone(
    fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession
) -> None:
    provider = _provider(fake_anthropic.messages_url, client)

    await provider.complete(REQUEST, CallOptions())
    await provider.complete(REQUEST, CallOptions(fresh_connection=True))
    await _collect(provider, CallOptions(fresh_connection=True))
    await provider.complete(REQUEST, CallOptions())

    pooled, fresh, fresh_stream, pooled_again = (r.client_port for r in fake_anthropic.requests)
    assert pooled_again == pooled, "the pooled connection stayed idle and was reused"
    assert len({pooled, fresh, fresh_stream}) == 3


async def test_connect_timeout_comes_from_call_options(client: aiohttp.ClientSession, unanswered_url: str) -> None:
    started = time.monotonic()

    with pytest.raises(UpstreamError) as caught:
        await _collect(_provider(unanswered_url, client), CallOptions(connect_timeout=0.2))

    assert caught.value.kind == "timeout" and caught.value.status == 0 and "connect timeout" in caught.value.message
    assert time.monotonic() - started < 2


async def test_total_timeout_bounds_a_complete_but_not_a_stream(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    provider = _provider(fake_anthropic.messages_url, client)
    options = CallOptions(total_timeout=0.3)
    fake_anthropic.enqueue(hang(5), reply_text("slow but fine", first_token_delay=0.6))

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(REQUEST, options)
    assert caught.value.kind == "timeout" and "read timeout" in caught.value.message

    # The router enforces first-token and idle budgets around a stream; the client does not.
    accumulator = StreamAccumulator()
    for event in await _collect(provider, options):
        accumulator.add(event)
    assert accumulator.response().text() == "slow but fine"


async def test_missing_key_is_unavailable(fake_anthropic: FakeAnthropic, client: aiohttp.ClientSession) -> None:
    provider = AnthropicProvider(url=fake_anthropic.messages_url, api_key="", model="m", client=client)

    assert not await provider.available()
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(REQUEST, CallOptions())
    assert caught.value.kind == "unavailable"
    assert fake_anthropic.requests == []


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),
        ({"Retry-After": email.utils.formatdate(NOW + 12, usegmt=True)}, 12.0),
        ({"Retry-After": email.utils.formatdate(NOW - 12, usegmt=True)}, 0.0),
        ({"Retry-After": "tomorrow-ish"}, None),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    """The one reading of Retry-After headers (the policy takes it from the error)."""
    assert retry_after(headers, now=NOW) == expected
    assert retry_after(CIMultiDict(headers), now=NOW) == expected
