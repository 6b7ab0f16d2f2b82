"""The OpenAI doors' sampling and extra fields reach the upstreams that take them.

Every field of a Chat Completions or Responses body that Trooper does not read was dropped without
a word: a local server's extensions sent with the OpenAI SDK's ``extra_body`` (``min_p``,
``chat_template_kwargs`` to turn Qwen3's thinking off…) never reached vLLM or llama-server, nor
did OpenAI's newest parameters reach OpenAI. Now a local OpenAI-compatible server gets them from
either door, OpenAI in the API that named them, and OpenAI's 400 on one it does not know is the
client's, with no fallback; Claude and Ollama answer without them.

``top_k`` was never read at those doors either: a client's ``top_k`` reached neither Ollama, nor a
local OpenAI-compatible server (vLLM, llama-server, LM Studio), nor Claude, all of which take it.
Now each gets it; OpenAI, which refuses it, does not; a bad one is the client's 400."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.behaviours import http_error, reply_text

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
LOCAL = {"X-Trooper-Route": "local"}
CLOUD = {"X-Trooper-Route": "cloud"}
DOORS = ("chat", "responses")
#: A local server's extensions (vLLM's, llama-server's), sent as the SDK's ``extra_body``.
EXTENSIONS = {
    "min_p": 0.05, "repetition_penalty": 1.1, "chat_template_kwargs": {"enable_thinking": False},
    "guided_json": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
}  # fmt: skip
#: A parameter OpenAI adds after this release of Trooper (made up).
FUTURE = {"future_setting": {"mode": "on"}}


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


def test_a_seed_and_the_penalties_reach_the_local_models(claude_and_ollama_answer, local_server):
    """Chat Completions' ``seed`` (answers that repeat) and repetition penalties were OpenAI's
    alone; llama.cpp, vLLM and Ollama sample with them too. Claude, which has none, goes without."""
    sampling = {"seed": 7, "frequency_penalty": 0.4, "presence_penalty": 0.2}
    server, claude, ollama = claude_and_ollama_answer
    assert ask(server.url, "chat", LOCAL, **sampling) == "Done locally."
    assert sampling.items() <= ollama.requests[-1].json["options"].items()
    assert ask(server.url, "chat", CLOUD, **sampling) == "Done."
    assert not set(sampling) & set(claude.requests[-1].json)
    local, fake = local_server
    assert ask(local.url, "chat", LOCAL, **sampling) == "Done locally."
    assert sampling.items() <= posted(fake)[-1].json.items()


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


@pytest.mark.parametrize("door", DOORS)
def test_fields_trooper_does_not_read_reach_a_local_server_as_sent(door, local_server):
    server, fake = local_server
    assert ask(server.url, door, LOCAL, **EXTENSIONS, x_force_local=True) == "Done locally."
    sent = posted(fake)[-1]
    assert sent.path.endswith("/chat/completions")
    assert {name: sent.json.get(name) for name in EXTENSIONS} == EXTENSIONS
    assert "x_force_local" not in sent.json, "Trooper's own field is read, not passed on"


def test_they_reach_openai_in_the_api_that_named_them(openai_only):
    server, fake = openai_only
    ask(server.url, "chat", CLOUD, **FUTURE)
    by_chat = fake.requests[-1]
    ask(server.url, "responses", CLOUD, **FUTURE)
    by_responses = fake.requests[-1]
    # A model only the Responses API serves: a Chat Completions field means nothing sure there.
    ask(server.url, "chat", CLOUD, model="gpt-5-codex", **FUTURE)
    codex = fake.requests[-1]
    assert by_chat.path.endswith("/chat/completions") and by_chat.json["future_setting"] == {"mode": "on"}
    assert by_responses.path.endswith("/responses") and by_responses.json["future_setting"] == {"mode": "on"}
    assert codex.path.endswith("/responses") and "future_setting" not in codex.json


@pytest.mark.parametrize("door", DOORS)
def test_a_local_servers_extensions_do_not_follow_a_turn_to_openai(door, openai_only):
    """A client that named a local model sent that server's extensions: when the turn reaches
    OpenAI instead (escalated, or its local server down), OpenAI would refuse them (400) and the
    turn would fail; it answers without them."""
    server, fake = openai_only
    assert ask(server.url, door, CLOUD, model="qwen3-8b", **EXTENSIONS, **FUTURE) == "Done."
    assert not (set(EXTENSIONS) | set(FUTURE)) & set(fake.requests[-1].json)
    assert fake.requests[-1].path.endswith("/chat/completions"), "by the API the model is asked by, not the fields'"


def test_a_turn_sent_by_the_responses_api_for_its_fields_is_not_said_to_keep_reasoning(openai_only):
    server, fake = openai_only
    with sdk(server.url) as client:
        raw = client.responses.with_raw_response.create(model="gpt-4o", input="hi", extra_headers=CLOUD, extra_body=FUTURE)
    assert fake.requests[-1].path.endswith("/responses")
    assert raw.headers["x-trooper-decision"] == "openai (direct)"


@pytest.mark.parametrize("door", DOORS)
def test_claude_and_ollama_answer_without_them(door, claude_and_ollama_answer):
    server, claude, ollama = claude_and_ollama_answer
    assert ask(server.url, door, CLOUD, **EXTENSIONS, **FUTURE) == "Done."
    assert ask(server.url, door, LOCAL, **EXTENSIONS, **FUTURE) == "Done locally."
    for sent in (claude.requests[-1].json, ollama.requests[-1].json):
        assert not {*EXTENSIONS, *FUTURE} & {*sent, *sent.get("options", {})}


@pytest.mark.parametrize("door", DOORS)
def test_openais_400_on_a_field_it_does_not_know_is_the_clients_and_nothing_answers_instead(door, fake_openai, fake_ollama, make_trooper):
    # As Claude's is at the Messages door: another model answering without the field would hide
    # from the client that OpenAI refused it.
    refusal = http_error(400, "Unrecognized request argument supplied: future_setting", type="invalid_request_error")
    fake_openai.enqueue(refusal, when=lambda request: "future_setting" in request.json)
    fake_ollama.default = reply_text("Done locally.")
    server = make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url, FALLBACK_URL=fake_ollama.api_chat_url)
    with pytest.raises(openai.BadRequestError) as refused:
        ask(server.url, door, CLOUD, **FUTURE)
    assert refused.value.status_code == 400
    assert "Unrecognized request argument supplied: future_setting" in refused.value.message
    assert refused.value.response.headers["x-trooper-decision"] == "openai (failed: bad_request)"
    assert len(posted(fake_openai)) == 1, "not retried"
    assert [r for r in fake_ollama.requests if r.path.endswith("/api/chat")] == [], "no fallback"
