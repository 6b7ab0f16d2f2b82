"""OllamaProvider against the fake Ollama server (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from tests.fakes.behaviours import connection_reset, reply_text
from tests.fakes.ollama import FakeOllama
from tests.fakes.playback import Exchange
from tests.fakes.recording import RecordedRequest
from trooper.conversation import (
    ImageBlock,
    Message,
    Request,
    StreamAccumulator,
    TextBlock,
    TextDelta,
    Tool,
)
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions
from trooper.providers.ollama import OllamaProvider

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def make_provider(url: str, client: aiohttp.ClientSession, model: str = "llama3.1:8b") -> OllamaProvider:
    return OllamaProvider(url=url, model=model, keep_alive="7m", client=client, default_context=6144)


def hello(model: str = "claude-sonnet-4-5") -> Request:
    return Request(model=model, messages=[Message("user", [TextBlock("hello there")])], max_tokens=64)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_complete_sends_configured_model_num_ctx_and_keep_alive(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    fake_ollama.enqueue(reply_text("Hi from Ollama."))
    provider = make_provider(fake_ollama.api_chat_url, client)

    response = await provider.complete(hello(), CallOptions(num_ctx=3072))

    assert response.text() == "Hi from Ollama."
    assert response.usage.output_tokens > 0
    sent = fake_ollama.last_request.json
    assert fake_ollama.last_request.path == "/api/chat"
    assert sent["model"] == "llama3.1:8b"  # never the Claude model name the client asked for
    assert sent["options"]["num_ctx"] == 3072
    assert sent["keep_alive"] == "7m"
    assert sent["stream"] is False


async def test_stream_yields_deltas_as_ndjson_arrives(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    fake_ollama.enqueue(reply_text("one two three four"))
    provider = make_provider(fake_ollama.url, client)  # a bare base URL works too
    accumulator = StreamAccumulator()
    deltas = 0

    async for event in provider.stream(hello(), CallOptions(num_ctx=2048)):
        accumulator.add(event)
        deltas += isinstance(event, TextDelta)

    assert accumulator.response().text() == "one two three four"
    assert deltas >= 4
    assert accumulator.finished
    assert fake_ollama.last_request.json["stream"] is True
    assert fake_ollama.last_request.json["options"]["num_ctx"] == 2048


async def test_images_are_sent_to_a_vision_model(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    fake_ollama.install("llava:7b", capabilities=("completion", "vision"))
    provider = make_provider(fake_ollama.api_chat_url, client, model="llava:7b")
    request = Request(model="x", messages=[Message("user", [TextBlock("what is this?"), ImageBlock("image/png", PIXEL)])])

    await provider.complete(request, CallOptions())

    assert provider.capabilities().supports_images
    assert fake_ollama.last_request.json["messages"][-1]["images"] == [PIXEL]


async def test_capabilities_come_from_api_show(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    fake_ollama.install("qwen2.5:7b", context_length=32768, architecture="qwen2", capabilities=("completion", "tools"))
    fake_ollama.install("gemma:2b", context_length=8192, architecture="gemma", capabilities=("completion",))
    qwen = make_provider(fake_ollama.api_chat_url, client, model="qwen2.5:7b")
    gemma = make_provider(fake_ollama.api_chat_url, client, model="gemma:2b")

    assert qwen.capabilities().context_window == 6144  # before discovery: the configured default
    await qwen.refresh()
    await gemma.refresh()

    assert (qwen.capabilities().context_window, qwen.capabilities().supports_tools) == (32768, True)
    assert (gemma.capabilities().context_window, gemma.capabilities().supports_tools) == (8192, False)
    assert gemma.upstream_model("claude-opus-4") == "gemma:2b"


async def test_tools_are_sent_to_a_tool_model(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    provider = make_provider(fake_ollama.api_chat_url, client)
    request = hello()
    request.tools = [Tool("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}}})]

    await provider.complete(request, CallOptions())

    assert fake_ollama.last_request.json["tools"][0]["function"]["name"] == "get_weather"


async def test_discovery_is_cached_within_its_ttl(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    provider = make_provider(fake_ollama.api_chat_url, client)

    await provider.complete(hello(), CallOptions())
    await provider.complete(hello(), CallOptions())

    paths = [r.path for r in fake_ollama.requests]
    assert paths.count("/api/tags") == 1
    assert paths.count("/api/show") == 1
    assert paths.count("/api/chat") == 2


class SlowCatalogOllama(FakeOllama):
    """An Ollama whose model listing takes ``catalog_delay`` seconds, as a busy one's can."""

    catalog_delay = 0.0

    async def _tags(self, exchange: Exchange, request: RecordedRequest) -> None:
        await exchange.wait(self.catalog_delay)
        await super()._tags(exchange, request)


async def test_stale_discovery_is_refreshed_off_the_request_path(client: aiohttp.ClientSession) -> None:
    with SlowCatalogOllama() as fake:
        provider = OllamaProvider(url=fake.api_chat_url, model="llama3.1:8b", keep_alive="5m", client=client,
                                  default_context=6144, discovery_ttl=0.0)
        await provider.refresh()
        fake.install("llama3.1:8b", context_length=16384)  # what the next discovery finds
        fake.catalog_delay = 1.5

        await provider.complete(hello(), CallOptions())

        assert provider.capabilities().context_window == 131072  # answered without waiting for discovery
        for _ in range(150):
            if provider.capabilities().context_window == 16384:
                break
            await asyncio.sleep(0.02)
        assert provider.capabilities().context_window == 16384  # and discovery ran in the background
        await provider.aclose()


async def test_model_not_pulled_is_a_clear_unavailable_error(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    provider = make_provider(fake_ollama.api_chat_url, client, model="mistral:7b")

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(hello(), CallOptions())

    assert caught.value.kind == "unavailable"
    assert "ollama pull mistral:7b" in caught.value.message
    assert "/api/chat" not in [r.path for r in fake_ollama.requests]
    assert not await provider.available()


async def test_model_removed_after_discovery_is_unavailable_not_empty(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    provider = make_provider(fake_ollama.api_chat_url, client)
    await provider.refresh()
    fake_ollama.uninstall("llama3.1:8b")

    with pytest.raises(UpstreamError) as caught:
        async for _ in provider.stream(hello(), CallOptions()):
            pass

    assert caught.value.kind == "unavailable"
    assert "ollama pull llama3.1:8b" in caught.value.message


async def test_ollama_not_running_is_a_connect_error(client: aiohttp.ClientSession) -> None:
    provider = make_provider(f"http://127.0.0.1:{unused_port()}/api/chat", client)

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(hello(), CallOptions())

    assert caught.value.kind == "connect"
    assert "ollama serve" in caught.value.message
    assert not await provider.available()


async def test_a_chat_reset_before_any_byte_stays_a_dropped_connection(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    fake_ollama.enqueue(connection_reset(), when=lambda request: request.path == "/api/chat")
    provider = make_provider(fake_ollama.api_chat_url, client)

    with pytest.raises(UpstreamError) as caught:
        await provider.complete(hello(), CallOptions())

    assert (caught.value.kind, caught.value.error_type) == ("connect", "connection_reset")
    assert "ollama serve" in caught.value.message


async def test_escalation_variant_sends_its_own_model(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    fake_ollama.install("qwen2.5:32b")
    big = OllamaProvider(url=fake_ollama.api_chat_url, model="qwen2.5:32b", keep_alive="5m", client=client,
                         default_context=6144, name="ollama-escalation")

    await big.complete(hello(), CallOptions())

    assert fake_ollama.last_request.json["model"] == "qwen2.5:32b"
