"""Claude's own fields of a tool call and of its result reach both ends as they came.

Claude's browser toolset (``browser_toolset_20260801``: one ``tools`` entry, no name) answers
with ``tool_use`` blocks naming their toolset (``toolset_name``) and who called them (``caller``),
and the client answers with a ``tool_result`` naming the toolset, whose content may hold a
``browser_state`` block; programmatic tool calling's calls name the code execution that made them
(``caller``). Before, the toolset was a 400 ("tools[0].name: field required"), every such field
was dropped from Claude's answer and from the history sent back, and a ``browser_state`` block
was a 400: an agent on these features could not go through Trooper at all."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.fakes.behaviours import reply_text, reply_tool_calls, tool_call
from tests.server.test_claude_server_tools import ANTHROPIC_KEY, ask, sdk

BROWSER = {"type": "browser_toolset_20260801", "configs": {"javascript_exec": {"enabled": False}}}
NAVIGATE = {"toolset_name": "browser", "caller": {"type": "direct"}}
PROGRAMMATIC = {"caller": {"type": "code_execution_20250825", "tool_id": "srvtoolu_01AbCdEf"}}
STATE = {"type": "browser_state", "tabs": [{"tab_id": 1, "url": "https://example.org/", "title": "Example", "active": True}]}


@pytest.fixture
def claude_first(fake_anthropic, fake_ollama, make_trooper):
    """A Trooper with Claude in its cloud chain and a local tier."""
    server = make_trooper(CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url)
    return server, fake_anthropic, fake_ollama


def assistant_turn(message: Any) -> dict[str, Any]:
    """The answer as an agent puts it back in its history: the SDK's blocks, as received."""
    return {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]}


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_the_browser_toolset_round_trips(claude_first, stream):
    server, claude, _ = claude_first
    claude.enqueue(reply_tool_calls(tool_call("navigate", {"url": "example.org"}, id="toolu_01Nav", extra=NAVIGATE)), reply_text("It is open."))
    question = {"role": "user", "content": "Open example.org"}
    with sdk(server) as client:
        answer, _ = ask(client, stream, model="claude-sonnet-4-5", max_tokens=256, tools=[BROWSER], messages=[question])
        (call,) = [block for block in answer.content if block.type == "tool_use"]
        assert (call.toolset_name, call.caller.type) == ("browser", "direct")
        assert claude.requests[-1].json["tools"] == [BROWSER], "the toolset reaches Claude as sent"
        result = {"type": "tool_result", "tool_use_id": call.id, "toolset_name": "browser",
                  "content": [{"type": "text", "text": "Navigated."}, STATE]}
        history = [question, assistant_turn(answer), {"role": "user", "content": [result]}]
        final, _ = ask(client, stream, model="claude-sonnet-4-5", max_tokens=256, tools=[BROWSER], messages=history)
    assert final.content[0].text == "It is open."
    sent = claude.requests[-1].json["messages"]
    assert sent[1]["content"][0] == {"type": "tool_use", "id": "toolu_01Nav", "name": "navigate", "input": {"url": "example.org"}, **NAVIGATE}
    assert sent[2]["content"][0] == result


def test_a_programmatic_calls_caller_goes_back_to_claude(claude_first):
    server, claude, _ = claude_first
    lookup = {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}},
              "allowed_callers": ["code_execution_20250825"]}
    claude.enqueue(reply_tool_calls(tool_call("get_weather", {}, id="toolu_01Prog", extra=PROGRAMMATIC)), reply_text("Sunny."))
    question = {"role": "user", "content": "Weather?"}
    with sdk(server) as client:
        answer, _ = ask(client, False, model="claude-sonnet-4-5", max_tokens=256, tools=[lookup], messages=[question])
        assert answer.content[0].caller.tool_id == "srvtoolu_01AbCdEf"
        history = [question, assistant_turn(answer),
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01Prog", "content": "18°C"}]}]
        ask(client, False, model="claude-sonnet-4-5", max_tokens=256, tools=[lookup], messages=history)
    assert claude.requests[-1].json["messages"][1]["content"][0]["caller"] == PROGRAMMATIC["caller"]


def test_a_local_model_gets_the_call_without_claudes_fields(claude_first):
    server, _, ollama = claude_first
    ollama.default = reply_text("Done locally.")
    call = {"type": "tool_use", "id": "toolu_01Prog", "name": "get_weather", "input": {}, **PROGRAMMATIC}
    history = [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": [call]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01Prog", "content": "18°C"}]}]
    tool = {"name": "get_weather", "description": "Weather", "input_schema": {"type": "object", "properties": {}}}
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, tools=[tool], messages=history,  # type: ignore[arg-type, list-item]
                               extra_headers={"X-Trooper-Route": "local"})
    sent = [r for r in ollama.requests if r.path == "/api/chat"][-1].json
    assert "caller" not in str(sent)


def test_a_file_uploaded_to_claudes_container_reaches_claude(claude_first):
    """``container_upload`` (a Files API file for code execution to read), in a user message: a 400 before."""
    server, claude, _ = claude_first
    claude.default = reply_text("The CSV has 3 rows.")
    upload = {"type": "container_upload", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}
    question = {"role": "user", "content": [{"type": "text", "text": "How many rows in this CSV?"}, upload]}
    code_execution = {"type": "code_execution_20250825", "name": "code_execution"}
    with sdk(server) as client:
        answer, _ = ask(client, False, model="claude-sonnet-4-5", max_tokens=256, tools=[code_execution], messages=[question])
    assert answer.content[0].text == "The CSV has 3 rows."
    assert claude.requests[-1].json["messages"][0]["content"][1] == upload
