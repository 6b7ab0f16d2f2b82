"""TROOPER_PRIVACY=redact through the official SDKs: the fake cloud receives placeholders only,
and the client gets the values back, in whole and streamed answers and in tool-call arguments,
a placeholder split across stream deltas included."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.fakes.behaviours import echo, reply_text, reply_tool_calls, tool_call

AWS_KEY = "AKIAQ3EGRTW5J2KD7XPL"
EMAIL = "jane.doe@acme.io"
QUESTION = f"Explain in depth why this deployment fails: AWS_ACCESS_KEY_ID={AWS_KEY}, owner {EMAIL}"
REDACTED = "Explain in depth why this deployment fails: AWS_ACCESS_KEY_ID=[SECRET_1], owner [EMAIL_2]"
TOOLS = [{"name": "deploy", "description": "deploy with credentials", "input_schema": {"type": "object", "properties": {"key": {"type": "string"}}}}]


@pytest.fixture
def server(fake_anthropic, fake_ollama, make_trooper):
    fake_ollama.default = reply_text("local")
    return make_trooper(
        CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
        FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_PRIVACY="redact",
    )


def client(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0)


def sent_to_cloud(fake) -> bytes:
    return b"".join(r.body for r in fake.requests)


def test_the_cloud_gets_placeholders_and_the_client_the_values(server, fake_anthropic):
    fake_anthropic.default = echo()
    with client(server) as c:
        answer = c.messages.create(model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": QUESTION}],
                                   extra_headers={"X-Session-ID": "r1"})
    assert answer.content[0].text == QUESTION
    assert fake_anthropic.requests[-1].last_user_text() == REDACTED
    assert AWS_KEY.encode() not in sent_to_cloud(fake_anthropic) and EMAIL.encode() not in sent_to_cloud(fake_anthropic)


def test_a_streamed_answer_with_a_split_placeholder_and_a_tool_call_is_restored(server, fake_anthropic):
    fake_anthropic.default = reply_tool_calls(
        tool_call("deploy", {"key": "[SECRET_1]"}, fragments=['{"key": "[SEC', 'RET_1]"}']),
        text="I will deploy with [SECRET_1] for [EMAIL_2] now",
    )
    with client(server) as c, c.messages.stream(
        model="claude-sonnet-4-5", max_tokens=100, tools=TOOLS, messages=[{"role": "user", "content": QUESTION}],
        extra_headers={"X-Session-ID": "r2"},
    ) as stream:
        message = stream.get_final_message()
    text = "".join(b.text for b in message.content if b.type == "text")
    assert text == f"I will deploy with {AWS_KEY} for {EMAIL} now"
    assert [b.input for b in message.content if b.type == "tool_use"] == [{"key": AWS_KEY}]
    assert AWS_KEY.encode() not in sent_to_cloud(fake_anthropic)


def test_the_next_turn_sends_the_restored_tool_call_back_as_placeholders(server, fake_anthropic):
    fake_anthropic.default = reply_text("done")
    history = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "deploy", "input": {"key": AWS_KEY}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": f"deployed with {AWS_KEY}"}]},
    ]
    with client(server) as c:
        c.messages.create(model="claude-sonnet-4-5", max_tokens=100, tools=TOOLS, messages=history, extra_headers={"X-Session-ID": "r3"})
    sent = fake_anthropic.requests[-1].json["messages"]
    assert sent[1]["content"][0]["input"] == {"key": "[SECRET_1]"}
    assert AWS_KEY.encode() not in sent_to_cloud(fake_anthropic)


def test_openai_clients_stream_restored_values(fake_openai, fake_ollama, make_trooper):
    fake_openai.default = reply_text(chunks=["Mail [EM", "AIL_1", "] today"])
    server = make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789", OPENAI_URL=fake_openai.chat_completions_url,
                          FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_PRIVACY="redact")
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0) as c:
        chunks = c.chat.completions.create(
            model="gpt-4o", stream=True,
            messages=[{"role": "user", "content": f"Write a detailed, careful apology email to {EMAIL} about the outage"}],
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == f"Mail {EMAIL} today"
    assert EMAIL.encode() not in b"".join(r.body for r in fake_openai.requests)
    assert json.loads(fake_openai.requests[-1].body)["messages"][-1]["content"].endswith("to [EMAIL_1] about the outage")


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_openai_s_built_in_tool_items_are_redacted_out_and_restored_back(fake_openai, make_trooper, stream):
    """A web search's query holds what the user asked: OpenAI sees its placeholders, the client the
    values, in the item and the citation, created and streamed; a stateless client resending the
    item sends the values, and OpenAI again gets placeholders (its item's id untouched)."""
    fake_openai.default = reply_text("Rotate it now.")
    server = make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789", OPENAI_URL=fake_openai.chat_completions_url, TROOPER_PRIVACY="redact")
    question = f"Was the key {AWS_KEY} leaked anywhere public?"
    web_search = [{"type": "web_search"}]
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0, _strict_response_validation=True) as c:
        if stream:
            with c.responses.stream(model="gpt-5", input=question, tools=web_search) as events:
                first = events.get_final_response()
        else:
            first = c.responses.create(model="gpt-5", input=question, tools=web_search)
        search, answer = first.output
        assert search.type == "web_search_call" and search.action.query == question, "the client sees its own words"
        assert AWS_KEY in answer.content[0].annotations[0].title
        resent = [{"role": "user", "content": question}, *(item.model_dump(exclude_none=True) for item in first.output)]
        c.responses.create(model="gpt-5", input=[*resent, {"role": "user", "content": "And what now?"}], tools=web_search, store=False)
    assert AWS_KEY.encode() not in b"".join(r.body for r in fake_openai.requests), "the key never reached OpenAI"
    sent = [r.json for r in fake_openai.requests if r.path == "/v1/responses"][-1]["input"]
    (item,) = [item for item in sent if item["type"] == "web_search_call"]
    assert item["action"]["query"] == "Was the key [SECRET_1] leaked anywhere public?" and item["id"] == search.id
