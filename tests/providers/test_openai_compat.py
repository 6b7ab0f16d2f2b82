import json

import httpx
import pytest

from trooper.conversation import Message, Request, StreamAccumulator, TextBlock, ToolUseBlock, Usage
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions
from trooper.providers.openai_compat import GEMINI_MODEL_PREFIXES, OPENAI_MODEL_PREFIXES, OpenAICompatProvider

URL = "https://api.openai.test/v1/chat/completions"
KEY = "sk-proj-secret"
REQUEST = Request(model="claude-haiku-4-5", messages=[Message("user", [TextBlock("hi")])], max_tokens=20)

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def _chunk(delta: dict | None, finish: str | None = None, **extra: object) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"id": "chatcmpl-2", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini", "choices": choices, **extra})


STREAM = "".join(
    f"data: {c}\n\n"
    for c in [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 2}"}}]}),
        _chunk({}, "tool_calls"),
        _chunk(None, usage={"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10}),
        "[DONE]",
    ]
).encode()


def _provider(handler, *, api_key: str = KEY, name: str = "openai", tier: str = "cloud", prefixes: tuple[str, ...] = OPENAI_MODEL_PREFIXES) -> OpenAICompatProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OpenAICompatProvider(
        name=name, tier=tier, url=URL, api_key=api_key, model="gpt-4o-mini", client=client, context_window=128_000, model_prefixes=prefixes
    )


async def test_complete_sends_bearer_auth_and_maps_the_answer() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=COMPLETION)

    response = await _provider(handler).complete(REQUEST, CallOptions())
    assert response.content == [TextBlock("Hello")] and response.usage == Usage(3, 1) and response.model == "gpt-4o-mini"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(seen[0].content)
    assert body["model"] == "gpt-4o-mini" and body["stream"] is False and body["max_tokens"] == 20


async def test_local_server_without_key_sends_no_authorization() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=COMPLETION)

    provider = _provider(handler, api_key="", name="lmstudio", tier="local", prefixes=())
    await provider.complete(Request(model="gpt-4o", messages=REQUEST.messages), CallOptions())
    assert "authorization" not in seen[0].headers
    assert json.loads(seen[0].content)["model"] == "gpt-4o-mini"  # no prefixes: always the configured model
    assert await provider.available()


def test_upstream_model_rule() -> None:
    openai = _provider(lambda r: httpx.Response(200))
    assert openai.upstream_model("gpt-4.1") == "gpt-4.1" and openai.upstream_model("o3-mini") == "o3-mini"
    assert openai.upstream_model("claude-sonnet-4") == "gpt-4o-mini"
    gemini = _provider(lambda r: httpx.Response(200), name="gemini", prefixes=GEMINI_MODEL_PREFIXES)
    assert gemini.upstream_model("gemini-2.5-pro") == "gemini-2.5-pro" and gemini.upstream_model("gpt-4o") == "gpt-4o-mini"


async def test_stream_yields_tool_call_events() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})

    accumulator = StreamAccumulator()
    async for event in _provider(handler).stream(REQUEST, CallOptions(api_key="sk-caller")):
        accumulator.add(event)
    response = accumulator.response()
    assert response.content == [ToolUseBlock("call_1", "f", {"a": 2})] and response.stop_reason == "tool_use"
    assert response.usage == Usage(4, 6)
    assert seen[0].headers["authorization"] == "Bearer sk-caller"
    assert json.loads(seen[0].content)["stream_options"] == {"include_usage": True}


async def test_gemini_array_error_body_is_decoded() -> None:
    body = [{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}]
    provider = _provider(lambda r: httpx.Response(429, json=body, headers={"retry-after": "2"}), name="gemini")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(REQUEST, CallOptions())
    error = caught.value
    assert (error.provider, error.kind, error.status, error.error_type, error.retry_after) == ("gemini", "http", 429, "rate_limit_error", 2.0)
    assert error.message == "Resource has been exhausted" and KEY not in str(error)


@pytest.mark.parametrize(
    ("body", "kind", "fragment"),
    [
        (STREAM.replace(b"data: [DONE]\n\n", b""), "stream", "[DONE]"),
        (b'data: {"error": {"message": "The server had an error", "type": "server_error"}}\n\n', "stream", "The server had an error"),
        (b"data: [DONE]\n\n", "stream", "without any content"),
    ],
)
async def test_broken_streams_raise(body: bytes, kind: str, fragment: str) -> None:
    provider = _provider(lambda r: httpx.Response(200, content=body))
    with pytest.raises(UpstreamError) as caught:
        async for _ in provider.stream(REQUEST, CallOptions()):
            pass
    assert caught.value.kind == kind and fragment in caught.value.message


async def test_stream_http_error_and_connect_failure() -> None:
    provider = _provider(lambda r: httpx.Response(401, json={"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}))
    with pytest.raises(UpstreamError) as caught:
        async for _ in provider.stream(REQUEST, CallOptions()):
            pass
    assert (caught.value.status, caught.value.error_type) == (401, "authentication_error")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(UpstreamError) as caught:
        async for _ in _provider(refuse).stream(REQUEST, CallOptions()):
            pass
    assert caught.value.kind == "connect" and "connection refused" in caught.value.message
