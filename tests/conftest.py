"""Shared test configuration: the fake upstreams, a real Trooper server and a real PostgreSQL are plugins every test can use."""

import httpx
import pytest

pytest_plugins = ["tests.fakes.fixtures", "tests.harness", "tests.postgres"]


@pytest.fixture(autouse=True)
def no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``.env`` or saved keys file of the person running the tests (a real CLAUDE_API_KEY, say)
    never reaches a ``trooper`` command a test starts; tests of those files undo this."""
    monkeypatch.setenv("TROOPER_ENV_FILE", "")
    monkeypatch.setenv("TROOPER_KEYS_FILE", "")


#: A key the fake Claude accepts (it checks none): a chat session can then escalate to the cloud.
CHAT_CLAUDE_KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def claude_and_ollama(fake_anthropic, fake_ollama, make_trooper):
    """A Trooper with a cloud tier (the fake Claude) and a local one (the fake Ollama)."""
    return make_trooper(CLAUDE_API_KEY=CHAT_CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url)


@pytest.fixture
def chat(claude_and_ollama, fake_anthropic, fake_ollama):
    """That Trooper and an HTTP client on its chat API: (server, client, fake Claude, fake Ollama)."""
    client = httpx.Client(base_url=claude_and_ollama.url + "/api/chat", timeout=30)
    yield claude_and_ollama, client, fake_anthropic, fake_ollama
    client.close()
