"""OpenAICompatProvider against the fake OpenAI and Gemini servers (real HTTP on 127.0.0.1)."""

from __future__ import annotations

from dataclasses import replace

import aiohttp
import pytest

from tests.fakes.behaviours import (
    http_error,
    invalid_api_key,
    missing_terminator,
    rate_limited,
    reply_text,
    reply_tool_calls,
    stream_error,
    tool_call,
)
from tests.fakes.openai import FakeGemini, FakeOpenAI
from trooper.conversation import Message, Request, StreamAccumulator, TextBlock, ThinkingBlock, ToolUseBlock
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions
from trooper.providers.openai_compat import GEMINI_MODEL_PREFIXES, OPENAI_MODEL_PREFIXES, OpenAICompatProvider, responses_url_of

KEY = "sk-proj-secret"
REQUEST = Request(model="claude-haiku-4-5", messages=[Message("user", [TextBlock("hi")])], max_tokens=20)


def _provider(
    url: str,
    client: aiohttp.ClientSession,
    *,
    api_key: str = KEY,
    name: str = "openai",
    tier: str = "cloud",
    prefixes: tuple[str, ...] = OPENAI_MODEL_PREFIXES,
) -> OpenAICompatProvider:
    return OpenAICompatProvider(
        name=name, tier=tier, url=url, api_key=api_key, model="gpt-4o-mini", client=client, context_window=128_000, model_prefixes=prefixes
    )


async def _drain(provider: OpenAICompatProvider, options: CallOptions | None = None) -> None:
    async for _ in provider.stream(REQUEST, options or CallOptions()):
        pass


async def test_complete_sends_bearer_auth_and_maps_the_answer(fake_openai: FakeOpenAI, client: aiohttp.ClientSession) -> None:
    fake_openai.enqueue(reply_text("Hello"))

    response = await _provider(fake_openai.chat_completions_url, client).complete(REQUEST, CallOptions())

    sent = fake_openai.last_request
    assert response.content == [TextBlock("Hello")] and response.model == "gpt-4o-mini"
    assert response.usage.input_tokens == sent.input_tokens() and response.usage.output_tokens > 0
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.json["model"] == "gpt-4o-mini" and sent.json["stream"] is False and sent.json["max_tokens"] == 20


async def test_local_server_without_key_sends_no_authorization(fake_openai: FakeOpenAI, client: aiohttp.ClientSession) -> None:
    provider = _provider(fake_openai.chat_completions_url, client, api_key="", name="lmstudio", tier="local", prefixes=())

    await provider.complete(Request(model="gpt-4o", messages=REQUEST.messages), CallOptions())

    assert "authorization" not in fake_openai.last_request.headers
    assert fake_openai.last_request.json["model"] == "gpt-4o-mini"  # no prefixes: always the configured model
    assert await provider.available()


def test_upstream_model_rule(client: aiohttp.ClientSession) -> None:
    openai = _provider("http://127.0.0.1:9/v1/chat/completions", client)
    assert openai.upstream_model("gpt-4.1") == "gpt-4.1" and openai.upstream_model("o3-mini") == "o3-mini"
    assert openai.upstream_model("claude-sonnet-4") == "gpt-4o-mini"
    gemini = _provider("http://127.0.0.1:9/v1/chat/completions", client, name="gemini", prefixes=GEMINI_MODEL_PREFIXES)
    assert gemini.upstream_model("gemini-2.5-pro") == "gemini-2.5-pro" and gemini.upstream_model("gpt-4o") == "gpt-4o-mini"


def test_openai_s_responses_api_answers_built_in_tools_and_the_turns_keeping_its_reasoning(client: aiohttp.ClientSession) -> None:
    url = "http://127.0.0.1:9/v1/chat/completions"
    openai = OpenAICompatProvider(
        name="openai", tier="cloud", url=url, api_key=KEY, model="gpt-4o-mini", client=client, context_window=128_000,
        model_prefixes=OPENAI_MODEL_PREFIXES, responses_url=responses_url_of(url),
    )  # fmt: skip
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAA-opaque"}
    resent = [Message("user", [TextBlock("hi")]), Message("assistant", [ThinkingBlock("", summary=True, openai_item=item), TextBlock("Hello")])]
    kept = Request(model="gpt-5", messages=resent)
    asking = Request(model="o3", messages=REQUEST.messages, include=["reasoning.encrypted_content"])
    assert openai.uses_responses_api(kept) and openai.uses_responses_api(asking)
    assert openai.uses_responses_api(Request(model="gpt-4.1", messages=REQUEST.messages, hosted_tools=[{"type": "web_search"}]))
    without_content = [Message("assistant", [ThinkingBlock("", summary=True, openai_item={**item, "encrypted_content": None})])]
    chat_completions = [
        Request(model="gpt-5", messages=REQUEST.messages, include=["web_search_call.action.sources"]),  # keeps nothing
        replace(kept, messages=without_content),  # OpenAI could not find it (store: false)
        replace(kept, model="gpt-4.1"), replace(asking, model="claude-sonnet-4"),  # models that do not reason (gpt-4o-mini)
    ]  # fmt: skip
    assert not any(openai.uses_responses_api(request) for request in chat_completions)
    gemini = _provider(url, client, name="gemini", prefixes=GEMINI_MODEL_PREFIXES)  # no Responses API
    assert not gemini.uses_responses_api(kept) and not gemini.uses_responses_api(asking)


async def test_stream_yields_tool_call_events(fake_openai: FakeOpenAI, client: aiohttp.ClientSession) -> None:
    fake_openai.enqueue(reply_tool_calls(tool_call("f", {"a": 2}, id="call_1")))
    accumulator = StreamAccumulator()

    async for event in _provider(fake_openai.chat_completions_url, client).stream(REQUEST, CallOptions(api_key="sk-caller")):
        accumulator.add(event)

    response = accumulator.response()
    assert response.content == [ToolUseBlock("call_1", "f", {"a": 2})] and response.stop_reason == "tool_use"
    assert response.usage.output_tokens > 0
    sent = fake_openai.last_request
    assert sent.headers["authorization"] == "Bearer sk-caller"
    assert sent.json["stream_options"] == {"include_usage": True}


async def test_gemini_array_error_body_is_decoded(fake_gemini: FakeGemini, client: aiohttp.ClientSession) -> None:
    fake_gemini.enqueue(rate_limited(retry_after=2))
    provider = _provider(fake_gemini.chat_completions_url, client, name="gemini", prefixes=GEMINI_MODEL_PREFIXES)

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(REQUEST, CallOptions())

    error = caught.value
    assert (error.provider, error.kind, error.status, error.error_type, error.retry_after) == ("gemini", "http", 429, "rate_limit_error", 2.0)
    assert error.message == "Resource has been exhausted (e.g. check quota)." and KEY not in str(error)


@pytest.mark.parametrize(
    ("behaviour", "fragment"),
    [
        (missing_terminator(), "[DONE]"),
        (stream_error(after=0), "overloaded"),
        (http_error(200, body="data: [DONE]\n\n"), "without any content"),  # a 200 with exactly this body
    ],
    ids=["missing-done", "in-stream-error", "no-content"],
)
async def test_broken_streams_raise(fake_openai: FakeOpenAI, client: aiohttp.ClientSession, behaviour, fragment: str) -> None:
    fake_openai.enqueue(behaviour)

    with pytest.raises(UpstreamError) as caught:
        await _drain(_provider(fake_openai.chat_completions_url, client))

    assert caught.value.kind == "stream" and fragment in caught.value.message


async def test_stream_http_error_and_connect_failure(fake_openai: FakeOpenAI, client: aiohttp.ClientSession, refused_url: str) -> None:
    fake_openai.enqueue(invalid_api_key())

    with pytest.raises(UpstreamError) as caught:
        await _drain(_provider(fake_openai.chat_completions_url, client))
    assert (caught.value.status, caught.value.error_type) == (401, "authentication_error")
    assert KEY not in str(caught.value) and KEY not in caught.value.body

    with pytest.raises(UpstreamError) as caught:
        await _drain(_provider(refused_url, client))
    assert caught.value.kind == "connect" and "Cannot connect" in caught.value.message
