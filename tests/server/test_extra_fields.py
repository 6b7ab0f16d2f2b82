"""The OpenAI doors' sampling and extra fields reach the upstreams that take them.

``top_k`` was never read at the Chat Completions or Responses door: a client's ``top_k`` (the
OpenAI SDK's ``extra_body``) reached neither Ollama, nor a local OpenAI-compatible server (vLLM,
llama-server, LM Studio), nor Claude, all of which take it. Now each gets it; OpenAI, which refuses
it, does not; a bad one is the client's 400."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
LOCAL = {"X-Trooper-Route": "local"}
CLOUD = {"X-Trooper-Route": "cloud"}
DOORS = ("chat", "responses")


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def ask(url: str, door: str, headers: dict[str, str], model: str = "gpt-4o", **extra_body: object) -> str:
    """One turn through ``door`` with the OpenAI SDK, the fields given as its ``extra_body``; the answer's text."""
    with sdk(url) as client:
        if door == "chat":
            completion = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}], extra_headers=headers, extra_body=extra_body
            )
            return completion.choices[0].message.content or ""
        return client.responses.create(model=model, input="hi", extra_headers=headers, extra_body=extra_body).output_text


def posted(fake) -> list:
    """What the fake was asked to answer (a local server is also asked for its models)."""
    return [request for request in fake.requests if request.method == "POST"]


@pytest.fixture
def local_server(fake_openai, make_trooper):
    """A Trooper whose local tier is an OpenAI-compatible server (the fake OpenAI stands for it)."""
    fake_openai.default = reply_text("Done locally.")
    return make_trooper(LOCAL_OPENAI_URL=fake_openai.chat_completions_url, LOCAL_OPENAI_MODEL="qwen3-8b"), fake_openai


@pytest.fixture
def openai_only(fake_openai, make_trooper):
    fake_openai.default = reply_text("Done.")
    return make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url), fake_openai


@pytest.fixture
def claude_and_ollama_answer(claude_and_ollama, fake_anthropic, fake_ollama):
    fake_anthropic.default = reply_text("Done.")
    fake_ollama.default = reply_text("Done locally.")
    return claude_and_ollama, fake_anthropic, fake_ollama


@pytest.mark.parametrize("door", DOORS)
def test_top_k_reaches_ollama_claude_and_a_local_server(door, claude_and_ollama_answer, local_server):
    server, claude, ollama = claude_and_ollama_answer
    assert ask(server.url, door, LOCAL, top_k=20) == "Done locally."
    assert ollama.requests[-1].json["options"]["top_k"] == 20
    assert ask(server.url, door, CLOUD, top_k=20) == "Done."
    assert claude.requests[-1].json["top_k"] == 20
    local, fake = local_server
    assert ask(local.url, door, LOCAL, top_k=0) == "Done locally."
    assert posted(fake)[-1].json["top_k"] == 0


@pytest.mark.parametrize("door", DOORS)
def test_openai_is_not_sent_top_k_which_it_refuses(door, openai_only):
    server, fake = openai_only
    assert ask(server.url, door, CLOUD, top_k=20) == "Done."
    assert "top_k" not in fake.requests[-1].json


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(
    ("top_k", "message"),
    [
        (-1, "top_k: must be at least 0, got -1"),
        ("20", "top_k: must be an integer, got a string"),
        (2.5, "top_k: must be an integer, got a number"),
        (True, "top_k: must be an integer, got a boolean"),
    ],
)
def test_a_bad_top_k_is_a_400_in_openais_shape_and_nothing_is_stored(door, top_k, message, local_server):
    server, fake = local_server
    path, body = ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}) if door == "chat" else ("/v1/responses", {"input": "hi"})
    with httpx.Client(base_url=server.url, timeout=10) as http:
        response = http.post(path, json={"model": "gpt-4o", **body, "top_k": top_k}, headers=LOCAL)
        assert http.get("/sessions").json()["sessions"] == []
    assert response.status_code == 400
    assert response.json()["error"] == {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    assert posted(fake) == []
