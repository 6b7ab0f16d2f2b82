"""The local tier through the server: which local model answers, and what it is sent.

Trooper runs as a real server; Ollama, an OpenAI-compatible local server and Claude are fake HTTP
upstreams. Covered: a model that is not pulled, a model without tool support, a small context
window, Ollama starting after Trooper, and ``LOCAL_OPENAI_URL`` as the local tier.
"""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes import FakeOllama, OllamaModel
from tests.fakes.behaviours import echo, reply_text, reply_tool_calls, tool_call
from trooper.conversation import Message, TextBlock
from trooper.memory.tokens import count_request_tokens

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
SIMPLE = "how many days in a week"


def anthropic_client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True)


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def ask(url: str, text: str = SIMPLE, **kw):
    """One Anthropic-SDK turn; returns (message, headers)."""
    with anthropic_client(url) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=kw.pop("max_tokens", 100), messages=[{"role": "user", "content": text}], **kw
        )
    return raw.parse(), raw.headers


def chats(fake) -> list:
    return [r for r in fake.requests if r.path == "/api/chat"]


def health(url: str) -> dict:
    return httpx.get(url + "/health", timeout=10).json()


# ---------------------------------------------------------------- a model that is not pulled


def test_model_not_pulled_at_start_is_a_clear_error_naming_the_pull(make_trooper):
    with FakeOllama(models=[OllamaModel("qwen2.5:7b")]) as ollama:
        server = make_trooper(FALLBACK_URL=ollama.api_chat_url)
        local = health(server.url)["local"]
        assert local["tier"] is None
        assert "ollama pull llama3.1:8b" in local["passed_over"]["ollama"] and "qwen2.5:7b" in local["passed_over"]["ollama"]
        with pytest.raises(anthropic.APIStatusError) as caught:
            ask(server.url)
        assert caught.value.status_code == 503
        assert "ollama pull llama3.1:8b" in caught.value.message
        # README: final errors carry x-should-retry: false, or the SDK retries a 503 twice more
        assert caught.value.response.headers.get("x-should-retry") == "false"
        assert chats(ollama) == [], "no chat is sent to a model that is not there"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_model_removed_after_start_falls_back_to_the_cloud(fake_ollama, fake_anthropic, make_trooper, stream):
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    assert health(server.url)["local"]["tier"] == "ollama"
    fake_ollama.uninstall("llama3.1:8b")  # `ollama rm` while Trooper runs
    fake_anthropic.enqueue(reply_text("Seven."))
    with anthropic_client(server.url) as client:
        if stream:
            with client.messages.stream(
                model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": SIMPLE}]
            ) as s:
                message, headers = s.get_final_message(), s.response.headers
        else:
            raw = client.messages.with_raw_response.create(
                model="claude-haiku-4-5", max_tokens=100, messages=[{"role": "user", "content": SIMPLE}]
            )
            message, headers = raw.parse(), raw.headers
    assert message.content[0].text == "Seven." and message.stop_reason == "end_turn"
    assert headers["x-trooper-provider"] == "claude"
    assert headers["x-trooper-decision"].startswith("claude (fallback: ")
    assert headers["x-trooper-fallback-count"] == "1"
    assert len(chats(fake_ollama)) == 1, "Ollama was asked first and answered 404"


def test_model_removed_after_start_without_cloud_is_an_error_not_an_empty_answer(fake_ollama, make_trooper):
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    fake_ollama.uninstall("llama3.1:8b")
    with openai_client(server.url) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": SIMPLE}])
    assert caught.value.status_code >= 400
    assert "ollama" in caught.value.message.lower() and "404" in caught.value.message
    body = caught.value.response.json()
    assert body["error"]["message"] and body["error"]["type"]


# ---------------------------------------------------------------- tool support


@pytest.mark.parametrize(
    "capabilities, answered_by",
    [(("completion",), "claude"), (("completion", "tools"), "ollama")],
    ids=["no-tools-model", "tools-model"],
)
def test_tool_turn_goes_to_the_cloud_unless_the_local_model_calls_tools(fake_anthropic, make_trooper, capabilities, answered_by):
    with FakeOllama(models=[OllamaModel("llama3.1:8b", capabilities=capabilities)]) as ollama:
        server = make_trooper(FALLBACK_URL=ollama.api_chat_url, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
        assert health(server.url)["local"]["supports_tools"] is ("tools" in capabilities)
        call = reply_tool_calls(tool_call("get_weather", {"city": "Paris"}))
        fake_anthropic.enqueue(call)
        ollama.enqueue(call)
        message, headers = ask(server.url, "what is the weather in Paris", tools=[WEATHER_TOOL_ANTHROPIC])
        assert headers["x-trooper-provider"] == answered_by
        assert message.stop_reason == "tool_use"
        (use,) = [b for b in message.content if b.type == "tool_use"]
        assert (use.name, use.input) == ("get_weather", {"city": "Paris"})
        if answered_by == "claude":
            assert chats(ollama) == [], "a model without tools is never sent a tool turn"
        else:
            assert fake_anthropic.requests == []
            assert chats(ollama)[0].json["tools"][0]["function"]["name"] == "get_weather"


# ---------------------------------------------------------------- a small context window


def long_conversation(rounds: int) -> list[dict[str, str]]:
    messages = []
    for i in range(rounds):
        messages.append({"role": "user", "content": f"Round {i}: here is more of the design document for the billing "
                         "service. " + "The ledger service writes every invoice line to postgres and publishes an "
                         "event to kafka so that the reporting jobs can aggregate revenue per customer. " * 4})
        messages.append({"role": "assistant", "content": f"Noted round {i}. " + "The ledger keeps invoices consistent. " * 6})
    messages.append({"role": "user", "content": "how many services did i mention in total"})
    return messages


def test_small_context_model_gets_num_ctx_and_a_conversation_that_fits(make_trooper):
    with FakeOllama(models=[OllamaModel("llama3.1:8b", context_length=2048)]) as ollama:
        ollama.default = echo(lambda r: "Two services.")
        server = make_trooper(FALLBACK_URL=ollama.api_chat_url)
        assert health(server.url)["local"]["context_window"] == 2048
        messages = long_conversation(36)
        max_tokens = 256
        original_tokens = count_request_tokens(None, [Message(m["role"], [TextBlock(m["content"])]) for m in messages])
        assert original_tokens > 6144, "the conversation really is too long for the window"
        with openai_client(server.url) as client:
            raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", max_tokens=max_tokens, messages=messages)
        assert raw.parse().choices[0].message.content == "Two services."
        assert raw.headers["x-trooper-provider"] == "ollama"
        assert "context" in raw.headers["x-trooper-summary"]

    (sent,) = chats(ollama)
    assert sent.json["options"]["num_ctx"] == 2048
    received = sent.json["messages"]
    system = "\n".join(m["content"] for m in received if m["role"] == "system") or None
    turns = [Message(m["role"], [TextBlock(m["content"])]) for m in received if m["role"] != "system"]
    prompt_tokens = count_request_tokens(system, turns)
    assert prompt_tokens + max_tokens <= 2048, f"{prompt_tokens} prompt tokens + {max_tokens} for the answer > 2048"
    assert received[-1] == {"role": "user", "content": messages[-1]["content"]}, "the latest user turn is intact"
    assert received[0]["role"] in ("system", "user") and received[-2]["role"] == "assistant"
    roles = [m["role"] for m in received if m["role"] != "system"]
    assert all(a != b for a, b in zip(roles, roles[1:])), f"roles alternate: {roles}"


# ---------------------------------------------------------------- Ollama starting after Trooper


def test_ollama_started_after_trooper_takes_over_later_turns(fake_anthropic, make_trooper):
    """Trooper re-checks the local tier in the background (trooper/providers/local.py). The interval
    must be settable for this to be testable in seconds; ``TROOPER_LOCAL_RECHECK`` (seconds) is the
    setting this test expects."""
    ollama = FakeOllama()
    ollama.start()
    port = ollama.port
    ollama.stop()  # Ollama is down when Trooper starts
    try:
        server = make_trooper(
            FALLBACK_URL=f"http://127.0.0.1:{port}/api/chat", CLAUDE_API_KEY=CLAUDE_KEY,
            CLAUDE_URL=fake_anthropic.messages_url, TROOPER_LOCAL_RECHECK="0.5",
        )
        assert health(server.url)["local"]["tier"] is None
        fake_anthropic.default = reply_text("Seven, from the cloud.")
        message, headers = ask(server.url)
        assert headers["x-trooper-provider"] == "claude"

        ollama.start()  # same port
        ollama.default = reply_text("Seven, from Ollama.")
        deadline = time.monotonic() + 5
        while health(server.url)["local"]["tier"] != "ollama":
            assert time.monotonic() < deadline, "Ollama started but the local tier never switched to it"
            time.sleep(0.1)
        message, headers = ask(server.url)
        assert message.content[0].text == "Seven, from Ollama."
        assert headers["x-trooper-decision"] == "ollama (simple turn) | cloud skipped"
        assert len(fake_anthropic.requests) == 1
    finally:
        ollama.stop()


# ---------------------------------------------------------------- an OpenAI-compatible local server


def test_local_openai_url_is_the_local_tier(fake_openai, fake_anthropic, make_trooper):
    fake_openai.models = ["qwen2.5-7b-instruct"]
    fake_openai.default = reply_text("Seven days, from llama-server.")
    server = make_trooper(
        LOCAL_OPENAI_URL=fake_openai.chat_completions_url, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url
    )
    local = health(server.url)["local"]
    assert (local["tier"], local["model"]) == ("local-openai", "qwen2.5-7b-instruct")
    assert "ollama" in local["passed_over"]

    message, headers = ask(server.url)
    assert message.content[0].text == "Seven days, from llama-server."
    assert message.model == "qwen2.5-7b-instruct"
    assert headers["x-trooper-provider"] == "local-openai"
    assert headers["x-trooper-decision"] == "local-openai (simple turn) | cloud skipped"
    assert fake_anthropic.requests == []
    chat = [r for r in fake_openai.requests if r.path == "/v1/chat/completions"]
    assert len(chat) == 1 and chat[0].json["model"] == "qwen2.5-7b-instruct"
    assert chat[0].json["messages"][-1]["content"] in (SIMPLE, [{"type": "text", "text": SIMPLE}])

    # A turn that needs the cloud still goes there; the local server is the fallback.
    fake_anthropic.default = reply_text("Cloud answer.")
    message, headers = ask(server.url, "explain why the sky is blue")
    assert headers["x-trooper-provider"] == "claude"
