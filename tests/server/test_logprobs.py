"""Token log probabilities through the Chat Completions door. A client's ``logprobs`` /
``top_logprobs`` were dropped on the way and every answer said ``"logprobs": null``, from OpenAI
as from Ollama, which both give them: an evaluation or a confidence score read nothing, without a
word. Now OpenAI, an OpenAI-compatible server and Ollama get the ask and the client their figures,
streamed or not; Claude and Gemini give none, and the decision header says so."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text, token_logprobs, word_chunks

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANSWER = "Paris is the capital."
MESSAGES = [{"role": "user", "content": "What is the capital of France? Explain it in a full sentence for me."}]


@pytest.fixture
def openai_and_ollama(fake_openai, fake_ollama, make_trooper):
    fake_openai.default = reply_text(ANSWER)
    fake_ollama.default = reply_text(ANSWER)
    return make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url, FALLBACK_URL=fake_ollama.api_chat_url)


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def expected(top: int) -> list[dict]:
    return [token_logprobs(piece, i, top) for i, piece in enumerate(word_chunks(ANSWER))]


def as_dicts(entries) -> list[dict]:
    return [entry.model_dump() for entry in entries]


@pytest.mark.parametrize(("route", "fake_name"), [("cloud", "fake_openai"), ("local", "fake_ollama")])
def test_the_figures_reach_the_client_created_and_streamed(openai_and_ollama, route, fake_name, request):
    fake = request.getfixturevalue(fake_name)
    headers = {"X-Trooper-Route": route}
    with sdk(openai_and_ollama.url) as client:
        created = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, logprobs=True, top_logprobs=2, extra_headers=headers)
        sent = fake.requests[-1].json
        streamed = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, logprobs=True, stream=True, extra_headers=headers))
        sent_streaming = fake.requests[-1].json
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 2)
    assert sent_streaming["logprobs"] is True and "top_logprobs" not in sent_streaming
    assert created.choices[0].message.content == ANSWER
    assert as_dicts(created.choices[0].logprobs.content) == expected(2)
    tokens = [entry for chunk in streamed if chunk.choices and chunk.choices[0].logprobs for entry in chunk.choices[0].logprobs.content]
    assert as_dicts(tokens) == expected(0)
    assert "".join(entry.token for entry in tokens) == ANSWER


def test_not_asked_none_are_asked_of_the_upstream(openai_and_ollama, fake_openai):
    with sdk(openai_and_ollama.url) as client:
        created = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers={"X-Trooper-Route": "cloud"})
    assert "logprobs" not in fake_openai.requests[-1].json and created.choices[0].logprobs is None


def test_a_model_that_gives_none_says_so(claude_and_ollama, fake_anthropic):
    fake_anthropic.default = reply_text(ANSWER)
    with sdk(claude_and_ollama.url) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="claude-sonnet-4-5", messages=MESSAGES, logprobs=True, top_logprobs=3, extra_headers={"X-Trooper-Route": "cloud"}
        )
    created = raw.parse()
    assert created.choices[0].message.content == ANSWER and created.choices[0].logprobs is None
    assert raw.headers["X-Trooper-Decision"] == "claude (direct) | no logprobs: the model gives none"
    assert "logprobs" not in fake_anthropic.requests[-1].json
    claude_and_ollama.flush()
    session = raw.headers["X-Trooper-Session"]
    events = httpx.get(f"{claude_and_ollama.url}/sessions/{session}/events", timeout=10).json()["events"]
    assert [e["detail"]["provider"] for e in events if e["kind"] == "logprobs_unavailable"] == ["claude"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs: must be between 0 and 20, got 21"),
        ({"top_logprobs": 2}, "top_logprobs: needs logprobs: true"),
        ({"logprobs": "yes"}, "logprobs: must be a boolean, got a string"),
    ],
)
def test_a_bad_ask_is_a_400_in_openais_shape(openai_and_ollama, fake_openai, extra, message):
    response = httpx.post(
        openai_and_ollama.url + "/v1/chat/completions", json={"model": "gpt-4o", "messages": MESSAGES, **extra}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"] == {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    assert fake_openai.requests == []


@pytest.mark.parametrize(
    ("model", "route", "fake_name", "api"),
    [
        ("gpt-4o", "cloud", "fake_openai", "/chat/completions"),  # OpenAI by Chat Completions
        ("gpt-5-codex", "cloud", "fake_openai", "/responses"),  # a model only OpenAI's Responses API serves
        ("gpt-4o", "local", "fake_ollama", "/api/chat"),
    ],
)
def test_the_responses_door_gives_them_created_and_streamed(openai_and_ollama, model, route, fake_name, api, request):
    fake = request.getfixturevalue(fake_name)
    headers = {"X-Trooper-Route": route}
    include = ["message.output_text.logprobs"]
    with sdk(openai_and_ollama.url) as client:
        created = client.responses.create(model=model, input=MESSAGES[0]["content"], include=include, top_logprobs=2, extra_headers=headers)
        sent = fake.requests[-1]
        with client.responses.stream(model=model, input=MESSAGES[0]["content"], include=include, extra_headers=headers) as stream:
            deltas = [event for event in stream if event.type == "response.output_text.delta"]
            final = stream.get_final_response()
    assert sent.path.endswith(api)
    assert created.output_text == ANSWER
    assert as_dicts(created.output[0].content[0].logprobs) == expected(2)
    assert as_dicts(entry for event in deltas for entry in event.logprobs) == expected(0)
    assert as_dicts(final.output[0].content[0].logprobs) == expected(0)
    # Not asked: none asked of the upstream, none given.
    with sdk(openai_and_ollama.url) as client:
        plain = client.responses.create(model=model, input=MESSAGES[0]["content"], extra_headers=headers)
    body = fake.requests[-1].json
    assert "logprobs" not in body and "message.output_text.logprobs" not in (body.get("include") or [])
    assert plain.output[0].content[0].logprobs == []
