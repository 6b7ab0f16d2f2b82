"""A real Trooper on fake upstreams (Ollama local, Claude cloud), and a kernel-side workspace pointed at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.harness import TrooperThread
from trooper.notebook.workspace import workspace

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"


@dataclass
class ChatSetup:
    server: TrooperThread
    claude: FakeAnthropic
    ollama: FakeOllama

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def chat_setup(fake_anthropic, fake_ollama, make_trooper) -> ChatSetup:
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url
    )
    return ChatSetup(server, fake_anthropic, fake_ollama)


@pytest.fixture
def kernel_env(chat_setup: ChatSetup, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatSetup]:
    """TROOPER_URL as a user would set it; the shared workspace is reset before and after."""
    monkeypatch.setenv("TROOPER_URL", chat_setup.url)
    workspace().close()
    yield chat_setup
    workspace().close()
