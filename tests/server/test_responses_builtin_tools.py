"""OpenAI's built-in tools through the Responses door, with the official openai SDK (strict
validation): a turn offering them is answered by OpenAI's Responses API (the fake's
``/v1/responses``), their items and citations reach the client verbatim, created and streamed;
function calls keep working beside them; later turns elsewhere read the answer without them; and
a turn no OpenAI may answer is refused (``routing/builtin_tools.py``)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes.behaviours import overloaded, reply_text, reply_tool_calls, tool_call
from tests.fakes.openai_responses import ENCRYPTED_REASONING, citation_url
from tests.harness import TrooperThread

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
WEB_SEARCH = {"type": "web_search", "search_context_size": "low", "user_location": {"type": "approximate", "country": "FR"}}
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city", "parameters": WEATHER_TOOL_ANTHROPIC["input_schema"]}
SEARCH_EVENTS = ["response.web_search_call.in_progress", "response.web_search_call.searching", "response.web_search_call.completed"]


@pytest.fixture
def both(fake_anthropic, fake_openai, make_trooper):
    """A Trooper with Claude first in its cloud chain and OpenAI after it."""
    env = {
        "CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake_anthropic.messages_url,
        "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_URL": fake_openai.chat_completions_url,
    }  # fmt: skip
    return make_trooper(**env), fake_anthropic, fake_openai


def sdk(server: TrooperThread, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True, default_headers=headers
    )


def responses_calls(fake: Any) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == "/v1/responses"]


def ask(client: openai.OpenAI, stream: bool, **request: Any) -> tuple[Any, httpx.Headers, list[Any]]:
    """(the response, Trooper's headers, the stream's events: none when created)."""
    raw = client.responses.with_raw_response.create(stream=stream, **request)
    if not stream:
        return raw.parse(), raw.headers, []
    events = list(raw.parse())
    assert events[-1].type == "response.completed", events[-1]
    return events[-1].response, raw.headers, events


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_web_search_is_answered_by_openai_and_its_items_reach_the_client_verbatim(both, stream):
    server, claude, fake = both
    fake.default = reply_text("Trooper 2.0 shipped on Monday.", chunks=["Trooper 2.0 ", "shipped ", "on Monday."])
    with sdk(server) as client:
        response, headers, events = ask(client, stream, model="gpt-5", input="latest trooper release", tools=[WEB_SEARCH, WEATHER])
    assert headers["x-trooper-decision"] == "openai (built-in tools: web_search)"
    assert claude.requests == [], "a turn with built-in tools goes to OpenAI, like images to a model that sees them"
    (sent,) = responses_calls(fake)
    assert sent["tools"][-1] == WEB_SEARCH, "the built-in tool reached OpenAI verbatim"
    assert sent["tools"][0]["name"] == "get_weather" and sent["stream"] is stream and sent["store"] is False
    assert sent["input"] == [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "latest trooper release"}]}]
    search, message = response.output
    assert search.type == "web_search_call" and search.id.startswith("ws_") and search.status == "completed"
    assert search.action.type == "search" and search.action.query == "latest trooper release"
    (part,) = message.content
    assert part.text == "Trooper 2.0 shipped on Monday."
    (citation,) = part.annotations
    assert citation.type == "url_citation" and citation.url == citation_url("latest trooper release")
    assert (citation.start_index, citation.end_index) == (0, len(part.text))
    assert response.tools[0].type == "web_search", "the response echoes the tools as asked"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    if stream:
        assert [e.sequence_number for e in events] == list(range(len(events)))
        kinds = [e.type for e in events]
        searching = [e for e in events if e.type.startswith("response.web_search_call.")]
        assert [e.type for e in searching] == SEARCH_EVENTS and all(e.item_id == search.id and e.output_index == 0 for e in searching)
        assert kinds.index("response.output_item.added") < kinds.index(SEARCH_EVENTS[0]) < kinds.index("response.output_text.delta")
        (added,) = [e for e in events if e.type == "response.output_text.annotation.added"]
        assert added.annotation.url == citation.url and added.output_index == 1 and added.annotation_index == 0
        done = [e.item for e in events if e.type == "response.output_item.done"]
        assert [item.model_dump() for item in done] == [item.model_dump() for item in response.output]


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_reasoning_summary_and_include_reach_openai_and_the_summary_reaches_the_client(both, stream):
    server, claude, fake = both
    fake.default = reply_text("Trooper 2.0 shipped on Monday.", thinking="Searching the web first, then reading.")
    include = ["web_search_call.action.sources", "reasoning.encrypted_content"]
    with sdk(server) as client:
        response, _, events = ask(
            client, stream, model="gpt-5", input="latest trooper release", tools=[WEB_SEARCH],
            reasoning={"effort": "low", "summary": "auto"}, include=include,
        )  # fmt: skip
    (sent,) = responses_calls(fake)
    assert sent["reasoning"] == {"effort": "low", "summary": "auto"} and sent["include"] == include
    search, reasoning, message = response.output
    assert [source.url for source in search.action.sources] == [citation_url("latest trooper release")]
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_") and not reasoning.content
    assert [(part.type, part.text) for part in reasoning.summary] == [("summary_text", "Searching the web first, then reading.")]
    assert message.content[0].text == "Trooper 2.0 shipped on Monday."
    if stream:
        deltas = [e for e in events if e.type == "response.reasoning_summary_text.delta"]
        assert len(deltas) > 1 and "".join(e.delta for e in deltas) == reasoning.summary[0].text
        assert all(e.item_id == reasoning.id and e.output_index == 1 and e.summary_index == 0 for e in deltas)
        kinds = [e.type for e in events]
        assert kinds.index("response.reasoning_summary_part.added") < kinds.index("response.reasoning_summary_text.delta")
        assert kinds.index("response.reasoning_summary_text.done") < kinds.index("response.reasoning_summary_part.done")
        assert "response.reasoning_text.delta" not in kinds, "a summary is not the reasoning itself"


def test_function_calls_beside_web_search_continue_with_previous_response_id(both):
    server, claude, fake = both
    fake.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"}, id="call_paris")), reply_text("Sunny in Paris."))
    with sdk(server) as client:
        first = client.responses.create(model="gpt-5", input="weather in Paris?", tools=[WEB_SEARCH, WEATHER])
        search, call = first.output
        assert call.type == "function_call" and call.call_id == "call_paris" and json.loads(call.arguments) == {"city": "Paris"}
        output = {"type": "function_call_output", "call_id": "call_paris", "output": "18C, sunny"}
        with client.responses.stream(model="gpt-5", input=[output], tools=[WEB_SEARCH, WEATHER], previous_response_id=first.id) as events:
            second = events.get_final_response()
    assert second.output_text == "Sunny in Paris." and second.previous_response_id == first.id
    sent = responses_calls(fake)[-1]["input"]
    assert [item.get("type") for item in sent] == ["message", "web_search_call", "function_call", "function_call_output"]
    assert sent[1] == search.model_dump(exclude_none=True), "OpenAI gets its own item back verbatim"
    assert sent[2] == {"type": "function_call", "call_id": "call_paris", "name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert sent[3] == {"type": "function_call_output", "call_id": "call_paris", "output": "18C, sunny"}


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "summary-only"])
def test_openai_s_reasoning_items_reach_the_client_and_go_back_to_openai_verbatim_and_in_place(both, stream, encrypted):
    """Codex CLI and the Agents SDK with ``store: false``: the client keeps the conversation, and
    OpenAI's reasoning comes back in its ``encrypted_content``, or not at all (OpenAI kept nothing)."""
    server, claude, fake = both
    fake.enqueue(reply_text("Trooper 2.0 shipped on Monday.", thinking="Search, then read the notes."), reply_text("Yes, on Monday."))
    question = {"role": "user", "content": "latest trooper release"}
    stateless = {
        "model": "gpt-5", "tools": [WEB_SEARCH], "store": False, "reasoning": {"summary": "auto"},
        "include": [ENCRYPTED_REASONING] if encrypted else [],
    }  # fmt: skip
    with sdk(server) as client:
        first, _, events = ask(client, stream, input=[question], **stateless)
        search, reasoning, message = first.output
        assert reasoning.type == "reasoning" and [part.text for part in reasoning.summary] == ["Search, then read the notes."]
        if encrypted:
            (issued,) = fake.issued_reasoning.items()
            assert (reasoning.id, reasoning.encrypted_content) == issued, "OpenAI's own id and encrypted_content reach the client"
        else:
            assert reasoning.encrypted_content is None and fake.issued_reasoning == {}
        if stream:
            (done,) = [e.item for e in events if e.type == "response.output_item.done" and e.item.type == "reasoning"]
            assert done.model_dump() == reasoning.model_dump(), "the streamed item is the completed response's"
        resent = [question, *(item.model_dump(exclude_none=True) for item in first.output), {"role": "user", "content": "on Monday?"}]
        second, _, _ = ask(client, stream, input=resent, **stateless)
    assert second.output_text == "Yes, on Monday."
    sent = responses_calls(fake)[-1]["input"]
    if encrypted:
        assert [item.get("type") for item in sent] == ["message", "web_search_call", "reasoning", "message", "message"]
        assert sent[2] == reasoning.model_dump(exclude_none=True), "OpenAI gets its reasoning item back verbatim, in place"
    else:
        assert "reasoning" not in [item.get("type") for item in sent], "without its content OpenAI could not find it (store: false)"


def test_openai_s_encrypted_reasoning_continues_from_a_kept_response(both):
    server, claude, fake = both
    fake.enqueue(reply_text("Trooper 2.0 shipped on Monday.", thinking="Search first."), reply_text("Yes."))
    with sdk(server) as client:
        first = client.responses.create(model="gpt-5", input="latest trooper release", tools=[WEB_SEARCH], include=[ENCRYPTED_REASONING])
        client.responses.create(model="gpt-5", input="on Monday?", tools=[WEB_SEARCH], previous_response_id=first.id)
    search, reasoning, message = first.output
    sent = responses_calls(fake)[-1]["input"]
    assert [item.get("type") for item in sent] == ["message", "web_search_call", "reasoning", "message", "message"]
    assert sent[2] == reasoning.model_dump(exclude_none=True), "the store kept OpenAI's item as it came"


def test_the_turn_is_stored_and_a_later_turn_elsewhere_reads_the_answer_without_the_search(both):
    server, claude, fake = both
    fake.default = reply_text("Trooper 2.0 shipped on Monday.", thinking="Searching the web first.")
    with sdk(server) as client:
        first = client.responses.create(model="gpt-5", input="latest trooper release", tools=[WEB_SEARCH], reasoning={"summary": "auto"})
        assert first.usage.output_tokens_details.reasoning_tokens > 0
        later = client.responses.create(model="gpt-5", input="thanks, and in one word?", previous_response_id=first.id)
    assert later.output_text and len(responses_calls(fake)) == 1, "without built-in tools the turn routes as usual (Claude)"
    messages = claude.requests[-1].json["messages"]
    assert [(m["role"], [b["type"] for b in m["content"]]) for m in messages] == [
        ("user", ["text"]), ("assistant", ["text"]), ("user", ["text"]),
    ], "the search item is dropped for Claude; the answer text stays"
    assert messages[1]["content"][0]["text"] == "Trooper 2.0 shipped on Monday."
    with httpx.Client(base_url=server.url) as client:
        (session,) = client.get("/sessions").json()["sessions"]
        turns = client.get(f"/sessions/{session['id']}/transcript").json()["turns"]
    answer = turns[1]
    assert answer["provider"] == "openai" and answer["tokens_out"] > 0
    kinds = [block["type"] for block in answer["content"]]
    assert kinds == ["hosted_tool", "thinking", "text"]
    assert answer["content"][0]["item"]["type"] == "web_search_call"
    assert answer["content"][2]["annotations"][0]["url"] == citation_url("latest trooper release")


def test_openai_failing_fails_the_turn_clearly_without_a_fallback(both):
    server, claude, fake = both
    fake.default = overloaded()
    with sdk(server) as client:
        with pytest.raises(openai.APIStatusError) as raised:
            client.responses.create(model="gpt-5", input="latest trooper release", tools=[WEB_SEARCH])
    assert raised.value.status_code >= 500 and "Built-in tools run only on OpenAI" in raised.value.message
    assert raised.value.response.headers["x-trooper-decision"].startswith("openai (failed")
    assert claude.requests == [], "no other provider answers without the tools"


REFUSALS = [
    ("claude only", {}, "no OpenAI is configured to run them"),
    ("forced local", {"X-Trooper-Route": "local"}, "forced to the local model"),
    ("local OpenAI-compatible server", {}, "no OpenAI is configured to run them"),
]


@pytest.mark.parametrize("case,headers,why", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_turn_no_openai_may_answer_is_a_clear_400(case, headers, why, fake_anthropic, fake_openai, fake_ollama, make_trooper):
    env = {"CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake_anthropic.messages_url, "FALLBACK_URL": fake_ollama.api_chat_url}
    if case == "forced local":
        env |= {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_URL": fake_openai.chat_completions_url}
    if case == "local OpenAI-compatible server":
        env = {"LOCAL_OPENAI_URL": fake_openai.chat_completions_url, "LOCAL_OPENAI_MODEL": "gpt-4o-mini"}
    server = make_trooper(**env)
    with httpx.Client(base_url=server.url, headers=headers) as client:
        response = client.post("/v1/responses", json={"model": "gpt-5", "input": "news?", "tools": [WEATHER, {"type": "web_search_preview"}]})
        assert client.get("/sessions").json()["sessions"] == [], "nothing of a refused request is recorded"
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and {"param", "code"} <= error.keys()
    assert "'web_search_preview' run only on OpenAI's servers" in error["message"] and why in error["message"]
    assert "OPENAI_API_KEY" in error["message"] and 'web_search = "disabled"' in error["message"]
    assert fake_anthropic.requests == [] and responses_calls(fake_openai) == []


def test_cached_tokens_of_openai_reach_the_client_and_the_transcript(both):
    server, claude, fake = both
    fake.default = reply_text("Nothing new.")
    rules = "Answer from the freshest sources you can find. " * 200  # a prefix OpenAI caches (1,024 tokens and more)
    with sdk(server) as client:
        first = client.responses.create(model="gpt-5", instructions=rules, input="news?", tools=[WEB_SEARCH])
        second = client.responses.create(model="gpt-5", instructions=rules, input="more?", tools=[WEB_SEARCH], previous_response_id=first.id)
    cached = second.usage.input_tokens_details.cached_tokens
    assert first.usage.input_tokens_details.cached_tokens == 0 and cached >= 1024
    with httpx.Client(base_url=server.url) as client:
        (session,) = client.get("/sessions").json()["sessions"]
        turns = client.get(f"/sessions/{session['id']}/transcript").json()["turns"]
    assert [t["tokens_cached"] for t in turns if t["role"] == "assistant"] == [0, cached]
