"""Prompt caching survives the proxy: Claude Code's ``cache_control`` markers reach Claude where the
client put them, the prefix Trooper sends is byte-identical turn after turn, and cached-token usage
reaches Anthropic and OpenAI clients alike. Before, every marker was dropped and the system blocks
were flattened into one string, so Claude Code users paid the full input price on every turn."""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text

EPHEMERAL = {"type": "ephemeral"}
ONE_HOUR = {"type": "ephemeral", "ttl": "1h"}
SYSTEM = [
    {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
    {"type": "text", "text": "Follow the repository's conventions. " * 40, "cache_control": EPHEMERAL},
]
TOOLS = [
    {"name": name, "description": f"The {name} tool. " * 20, "input_schema": {"type": "object", "properties": {"arg": {"type": "string"}}}}
    for name in ("Read", "Edit", "Write", "Bash", "Grep")
]
TOOLS[-1]["cache_control"] = ONE_HOUR


@pytest.fixture
def claude(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("Done.")
    return make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url), fake_anthropic


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True)


def claude_code_turn(history: list[dict], question: str) -> list[dict]:
    """The messages Claude Code sends: the history, then the new user turn with the cache marker
    (moved off the previous user turn, as Claude Code does)."""
    moved = [{**m, "content": [{k: v for k, v in b.items() if k != "cache_control"} for b in m["content"]]}
             if isinstance(m["content"], list) else m for m in history]
    return [*moved, {"role": "user", "content": [{"type": "text", "text": question, "cache_control": EPHEMERAL}]}]


def test_markers_arrive_in_place_and_system_blocks_stay_blocks(claude):
    server, fake = claude
    messages = claude_code_turn([], "List the files in src/.")
    with sdk(server.url) as client:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, system=SYSTEM, tools=TOOLS, messages=messages,
                               extra_headers={"X-Trooper-Route": "cloud"})
    sent = fake.requests[-1].json
    assert sent["system"] == SYSTEM, "system blocks, markers and all, as the client sent them"
    assert sent["tools"][-1]["cache_control"] == ONE_HOUR and all("cache_control" not in t for t in sent["tools"][:-1])
    assert sent["messages"][-1]["content"][-1]["cache_control"] == EPHEMERAL


def prefix_bytes(body: dict, messages: int) -> bytes:
    """The bytes of everything before the newest turns: tools, system and the first messages."""
    return json.dumps([body.get("tools"), body.get("system"), body["messages"][:messages]]).encode()


def test_ten_turns_send_a_byte_identical_prefix_and_read_it_from_the_cache(claude):
    server, fake = claude
    history: list[dict] = []
    sent: list[dict] = []
    cached = []
    with sdk(server.url) as client:
        for turn in range(10):
            messages = claude_code_turn(history, f"Step {turn}: run the tests in module {turn}.")
            answer = client.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, system=SYSTEM, tools=TOOLS, messages=messages,
                extra_headers={"X-Session-ID": "cc-cache", "X-Trooper-Route": "cloud"},
            )
            cached.append(answer.usage.cache_read_input_tokens)
            sent.append(fake.requests[-1].json)
            history = [*messages, {"role": "assistant", "content": [{"type": "text", "text": answer.content[0].text}]}]
    for before, after in zip(sent, sent[1:]):
        # everything but the last user turn of `before` (whose marker moved) is resent unchanged
        shared = len(before["messages"]) - 1
        assert prefix_bytes(after, shared) == prefix_bytes(before, shared)
    assert cached[0] == 0 and all(tokens > 0 for tokens in cached[1:]), cached
    server.flush()
    turns = httpx.get(f"{server.url}/sessions/cc-cache/transcript", timeout=10).json()["turns"]
    answers = [t["tokens_cached"] for t in turns if t["role"] == "assistant"]
    assert answers == cached, "the dashboard and the DataFrames show each turn's cached tokens"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_cached_tokens_reach_both_client_formats(claude, stream):
    server, fake = claude
    messages = claude_code_turn([], "Explain the build.")
    with sdk(server.url) as client:
        for _ in range(2):  # the second turn reads what the first wrote
            if stream:
                with client.messages.stream(model="claude-sonnet-4-5", max_tokens=64, system=SYSTEM, tools=TOOLS,
                                            messages=messages, extra_headers={"X-Trooper-Route": "cloud"}) as s:
                    usage = s.get_final_message().usage
            else:
                usage = client.messages.create(model="claude-sonnet-4-5", max_tokens=64, system=SYSTEM, tools=TOOLS,
                                               messages=messages, extra_headers={"X-Trooper-Route": "cloud"}).usage
    assert usage.cache_read_input_tokens and usage.cache_read_input_tokens > 0


LONG_SYSTEM = "You review pull requests for the payments service. " * 200  # past OpenAI's 1,024-token floor


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_openai_cached_tokens_reach_both_client_formats(fake_openai, make_trooper, stream):
    fake_openai.default = reply_text("ok")
    server = make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_URL=fake_openai.chat_completions_url)
    route = {"X-Trooper-Route": "cloud"}
    oai = openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)
    with oai:
        for _ in range(2):  # the second request's prefix was seen: OpenAI caches it by itself
            messages = [{"role": "system", "content": LONG_SYSTEM}, {"role": "user", "content": "review PR 7"}]
            if stream:
                chunks = list(oai.chat.completions.create(model="gpt-4o-mini", messages=messages, stream=True,
                                                          stream_options={"include_usage": True}, extra_headers=route))
                usage = chunks[-1].usage
            else:
                usage = oai.chat.completions.create(model="gpt-4o-mini", messages=messages, extra_headers=route).usage
    assert usage is not None and usage.prompt_tokens_details is not None
    cached = usage.prompt_tokens_details.cached_tokens
    assert cached and 0 < cached <= usage.prompt_tokens, "prompt_tokens counts the cached ones too, as OpenAI's do"

    with sdk(server.url) as client:  # an Anthropic client answered by OpenAI: the same cache, in its terms
        answer = client.messages.create(model="gpt-4o-mini", max_tokens=64, system=LONG_SYSTEM,
                                        messages=[{"role": "user", "content": "review PR 7"}], extra_headers=route)
    assert answer.usage.cache_read_input_tokens == cached
    assert answer.usage.input_tokens == usage.prompt_tokens - cached, "Anthropic's input_tokens exclude the cache"


def test_openai_prompt_cache_key_is_passed_to_openai_only(fake_openai, make_trooper):
    fake_openai.default = reply_text("ok")
    server = make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_URL=fake_openai.chat_completions_url)
    oai = openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)
    with oai:
        oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "why is the sky blue?"}],
                                    prompt_cache_key="repo-42", extra_headers={"X-Trooper-Route": "cloud"})
    assert fake_openai.requests[-1].json["prompt_cache_key"] == "repo-42"


# OpenAI-format clients reaching Claude. OpenAI caches every prompt's prefix unasked; Claude caches
# only what a request marks. Before, such a client's turns reached Claude unmarked (their own
# marks, OpenRouter's and LiteLLM's convention, were dropped too): full input price every turn.

def oai(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def chat_turn(client: openai.OpenAI, history: list[dict], question: str, session: str) -> tuple[list[dict], int]:
    messages = [*history, {"role": "user", "content": question}]
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                            extra_headers={"X-Session-ID": session, "X-Trooper-Route": "cloud"})
    assert answer.usage is not None and answer.usage.prompt_tokens_details is not None
    history = [*messages, {"role": "assistant", "content": answer.choices[0].message.content}]
    return history, answer.usage.prompt_tokens_details.cached_tokens or 0


def test_chat_completions_turns_to_claude_ask_for_automatic_caching(claude):
    server, fake = claude
    history: list[dict] = [{"role": "system", "content": LONG_SYSTEM}]
    cached = []
    with oai(server.url) as client:
        for turn in range(3):
            history, tokens = chat_turn(client, history, f"Review file {turn} of PR 7.", "oai-auto-cache")
            cached.append(tokens)
            sent = fake.requests[-1].json
            assert sent["cache_control"] == EPHEMERAL, "Claude's automatic caching, asked for the client"
            assert all("cache_control" not in b for m in sent["messages"] if isinstance(m["content"], list) for b in m["content"])
    assert cached[0] == 0 and cached[1] > 0 and cached[2] > cached[1], cached


def test_responses_turns_to_claude_ask_for_automatic_caching(claude):
    server, fake = claude
    with oai(server.url) as client:
        first = client.responses.create(model="gpt-5", instructions=LONG_SYSTEM, input="Review file 1 of PR 7.",
                                        extra_headers={"X-Trooper-Route": "cloud"})
        # the instructions are not carried over from the previous response: an agent resends them
        second = client.responses.create(model="gpt-5", instructions=LONG_SYSTEM, previous_response_id=first.id,
                                         input="And file 2?", extra_headers={"X-Trooper-Route": "cloud"})
    assert fake.requests[-1].json["cache_control"] == EPHEMERAL
    assert first.usage is not None and second.usage is not None
    assert first.usage.input_tokens_details.cached_tokens == 0
    assert second.usage.input_tokens_details.cached_tokens > 0


def test_chat_completions_cache_hints_reach_claude_where_the_client_put_them(claude):
    """OpenRouter's and LiteLLM's convention: ``cache_control`` on a content part, a message (its
    last part) or a tool. Marked, the turn is not also given automatic caching (four marks at most)."""
    server, fake = claude
    tool = {"type": "function", "function": {"name": "read", "parameters": {"type": "object", "properties": {}}},
            "cache_control": ONE_HOUR}
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You review code. "}, {"type": "text", "text": LONG_SYSTEM, "cache_control": EPHEMERAL}]},
        {"role": "user", "content": "Read setup.py."},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "print('setup')", "cache_control": EPHEMERAL},
        {"role": "user", "content": [{"type": "text", "text": "Is it fine?", "cache_control": EPHEMERAL}]},
    ]
    with oai(server.url) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[tool],  # type: ignore[list-item]
                                       extra_headers={"X-Trooper-Route": "cloud"})
    sent = fake.requests[-1].json
    assert sent["system"] == [{"type": "text", "text": "You review code. " + LONG_SYSTEM, "cache_control": EPHEMERAL}]
    assert sent["tools"][0]["cache_control"] == ONE_HOUR
    result = sent["messages"][2]["content"][0]
    assert result["type"] == "tool_result" and result["content"][-1]["cache_control"] == EPHEMERAL
    assert sent["messages"][-1]["content"][-1] == {"type": "text", "text": "Is it fine?", "cache_control": EPHEMERAL}
    assert "cache_control" not in sent


def test_automatic_caching_is_asked_only_for_clients_that_expect_it(fake_anthropic, make_trooper):
    """An Anthropic client that marks nothing chose so: Claude gets its request as sent. And the
    setting turns automatic caching off for OpenAI-format clients too."""
    fake_anthropic.default = reply_text("ok")
    key, url = "sk-ant-test-0123456789abcdef", fake_anthropic.messages_url
    route = {"X-Trooper-Route": "cloud"}
    server = make_trooper(CLAUDE_API_KEY=key, CLAUDE_URL=url)
    with sdk(server.url) as client:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}], extra_headers=route)
    assert "cache_control" not in fake_anthropic.requests[-1].json
    server.stop()
    server = make_trooper(CLAUDE_API_KEY=key, CLAUDE_URL=url, TROOPER_CLAUDE_AUTO_CACHE="false")
    with oai(server.url) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=route)
    assert "cache_control" not in fake_anthropic.requests[-1].json
