"""A caller that forces the cloud with no cloud configured gets a clear error in its own protocol's
shape, never a silent answer from the local model."""

from __future__ import annotations

import anthropic
import openai
import pytest

from tests.fakes.behaviours import reply_text


@pytest.fixture
def local_only(fake_ollama, make_trooper):
    fake_ollama.default = reply_text("a local answer")
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url), fake_ollama


def test_anthropic_caller(local_only):
    server, ollama = local_only
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(model="claude-sonnet-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}],
                                   extra_headers={"X-Trooper-Route": "cloud"})
    assert caught.value.status_code == 503
    assert "no cloud provider is configured" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert not [r for r in ollama.requests if r.path == "/api/chat"], "the local model was not asked"


def test_openai_caller(local_only):
    server, _ = local_only
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"X-Trooper-Route": "cloud"})
    assert caught.value.status_code == 503 and "X-Trooper-Route: cloud" in caught.value.message
