"""Codex CLI's requests, replayed through the openai SDK's Responses API against every upstream kind.

Codex sends ``instructions`` (its base prompt), its user instructions and environment context as
user messages ahead of the prompt, function tools (``shell``, ``update_plan``, ``apply_patch``),
``tool_choice: auto`` with ``parallel_tool_calls: false``, ``reasoning.effort``, a
``prompt_cache_key`` and its ``session-id`` header. A function call is answered with a
``function_call_output`` continued by ``previous_response_id``; a stateless Codex (``store:
false``) instead resends every item, its reasoning with ``encrypted_content``. Codex asks for
that content (``include``), so OpenAI answers it by its Responses API, which alone reads its
reasoning items back (every other upstream gets the conversation without them). Current Codex
offers ``apply_patch`` as a custom (freeform) tool with a Lark grammar of its patch format: OpenAI
(whose Responses API alone serves gpt-5-codex) gets it as Codex sent it, every other upstream as a
function taking one string, and Codex gets its call back as a ``custom_tool_call`` holding the
patch exactly as the model wrote it. Streamed and not.

How each upstream is forced: ``tests/compat/upstreams.py`` (one provider configured per Trooper,
``X-Trooper-Route`` on every request).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import openai
import pytest

from tests.compat.upstreams import CREATE_AND_STREAM, SentCall, Upstream, assert_nothing_of, assert_tool_history
from tests.fakes import FakeAnthropic, reply_text, reply_tool_calls, tool_call

MODEL = "gpt-5-codex"
INSTRUCTIONS = (
    "You are Codex, based on GPT-5. You are running as a coding agent in the Codex CLI on a user's computer.\n\n"
    "## General\n\n- The arguments to `shell` will be passed to execvp(). Most terminal commands should be prefixed "
    'with ["bash", "-lc"].\n- Always set the `workdir` param when using the shell function.'
)
USER_INSTRUCTIONS = "<user_instructions>\n\n# AGENTS.md\n\nRun `make test` before you commit.\n\n</user_instructions>"
ENVIRONMENT = (
    "<environment_context>\n  <cwd>/repo</cwd>\n  <approval_policy>on-request</approval_policy>\n"
    "  <sandbox_mode>workspace-write</sandbox_mode>\n  <network_access>restricted</network_access>\n  <shell>bash</shell>\n"
    "</environment_context>"
)
#: Codex's default effort, and the thinking budget it becomes for Claude (README, "The Responses API").
REASONING = {"effort": "medium", "summary": "auto"}
CLAUDE_THINKING = {"type": "enabled", "budget_tokens": 8192}


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return {"type": "function", "name": name, "description": description, "strict": False, "parameters": parameters}


TOOLS = [
    _function("shell", "Runs a shell command and returns its output.",
              {"command": {"type": "array", "items": {"type": "string"}, "description": "The command to execute"},
               "workdir": {"type": "string"}, "timeout_ms": {"type": "number"}}, ["command"]),
    _function("update_plan", "Updates the task plan.",
              {"explanation": {"type": "string"}, "plan": {"type": "array", "items": {"type": "object", "properties": {
               "step": {"type": "string"}, "status": {"type": "string"}}, "required": ["step", "status"]}}}, ["plan"]),
    _function("apply_patch", "Use the `apply_patch` tool to edit files.", {"input": {"type": "string"}}, ["input"]),
]  # fmt: skip


#: A Lark grammar of Codex's patch format (what matters here is that it reaches the model whole).
PATCH_GRAMMAR = r"""start: "*** Begin Patch" LF hunk+ "*** End Patch" LF?
hunk: ("*** Add File: " | "*** Delete File: " | "*** Update File: ") PATH LF line*
line: /[ +\-@][^\n]*/ LF
PATH: /[^\n]+/
%import common.LF"""
APPLY_PATCH = {
    "type": "custom", "name": "apply_patch",
    "description": "Use the `apply_patch` tool to edit files. This is a FREEFORM tool, so do not wrap the patch in JSON.",
    "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
}  # fmt: skip
#: Current Codex's tools: its function tools, and apply_patch as a custom tool.
CUSTOM_TOOLS = [*TOOLS[:2], APPLY_PATCH]
#: A patch a JSON round trip could change: quotes, backslashes, a tab, non-ASCII, a trailing newline.
PATCH = (
    '*** Begin Patch\n*** Update File: src/config.py\n@@ def load(path):\n-    return parse(path, sep="\\t")\n'
    '+    return parse(path, sep="\\t", encoding="utf-8")\t# «ü» ✓\n*** End Patch\n'
)
PATCHED = "Success. Updated the following files:\nM src/config.py"


def user_message(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def codex_request(input: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL, "instructions": INSTRUCTIONS, "input": input, "tools": TOOLS, "tool_choice": "auto",
        "parallel_tool_calls": False, "reasoning": REASONING, "store": True, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a2b3c-prompt-cache", "extra_body": {"text": {"verbosity": "medium"}}, **extra,
    }


def first_input(prompt: str) -> list[dict[str, Any]]:
    return [user_message(USER_INSTRUCTIONS), user_message(ENVIRONMENT), user_message(prompt)]


def codex(upstream: Upstream) -> tuple[openai.OpenAI, str]:
    """An openai client with Codex's headers, and the session id it names."""
    session = str(uuid.uuid4())
    client = upstream.openai_client(**{
        "session-id": session, "originator": "codex_cli_rs", "OpenAI-Beta": "responses=experimental",
        "User-Agent": "codex_cli_rs/0.46.0 (Debian 13; x86_64) xterm-256color",
    })  # fmt: skip
    return client, session


def ask(client: openai.OpenAI, stream: bool, request: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """(the response, Trooper's response headers), created or streamed; a stream's events are
    checked one by one by the SDK, and its deltas must add up to the final response's text."""
    if not stream:
        raw = client.responses.with_raw_response.create(**request)
        return raw.parse(), dict(raw.headers)
    raw = client.responses.with_raw_response.create(**request, stream=True)
    events = list(raw.parse())
    assert [e.type for e in events][:2] == ["response.created", "response.in_progress"] and events[-1].type == "response.completed"
    response = events[-1].response
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == response.output_text
    return response, dict(raw.headers)


def function_calls(response: Any) -> list[SentCall]:
    return [SentCall(item.call_id, item.name, json.loads(item.arguments)) for item in response.output if item.type == "function_call"]


def assert_usage(response: Any) -> None:
    usage = response.usage
    assert usage.input_tokens > 0 and usage.output_tokens > 0 and usage.total_tokens == usage.input_tokens + usage.output_tokens


def assert_reasoning_translated(upstream: Upstream, body: dict[str, Any]) -> None:
    """reasoning.effort is a thinking budget for Claude, and OpenAI's Responses API gets Codex's
    ``reasoning`` and ``include`` as they came (gpt-5-codex reasons); no other upstream is asked to think."""
    asked = {"thinking", "think", "reasoning", "reasoning_effort"} & body.keys()
    if upstream.kind == "claude":
        assert body["thinking"] == CLAUDE_THINKING and body["max_tokens"] == 4096 + 8192
    elif upstream.kind == "openai":
        assert asked == {"reasoning"} and body["reasoning"] == REASONING and body["include"] == ["reasoning.encrypted_content"]
    else:
        assert not asked


# ---------------------------------------------------------------- the suite


@CREATE_AND_STREAM
def test_a_turn_reaches_the_upstream_in_its_own_shape(upstream: Upstream, stream: bool) -> None:
    upstream.fake.enqueue(reply_text("The tests pass."))
    client, session = codex(upstream)
    with client:
        response, headers = ask(client, stream, codex_request(first_input("Run the tests.")))
    assert response.output_text == "The tests pass." and response.status == "completed"
    assert response.instructions == INSTRUCTIONS and response.reasoning.effort == "medium" and response.parallel_tool_calls is False
    assert_usage(response)
    assert headers["x-trooper-session"] == session and headers["x-trooper-provider"] == upstream.kind

    received = upstream.last_received
    body = received.body
    assert received.model == upstream.model_for(MODEL)
    assert received.system_text == INSTRUCTIONS
    assert received.user_texts() == [USER_INSTRUCTIONS, ENVIRONMENT, "Run the tests."]
    assert received.tools() == [(t["name"], t["description"], t["parameters"]) for t in TOOLS]
    assert_reasoning_translated(upstream, body)
    if upstream.kind == "claude":
        assert body["system"] == INSTRUCTIONS and body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    elif upstream.kind == "openai":
        assert received.wire == "responses" and body["instructions"] == INSTRUCTIONS and body["store"] is False
        assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False
    elif upstream.wire == "openai":
        assert body["messages"][0] == {"role": "system", "content": INSTRUCTIONS}, "the prefix is the client's own"
        assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False
    else:
        assert "tool_choice" not in body, "Ollama has no tool_choice"
    assert len(received.conversation) == 3
    # OpenAI's prompt cache key is OpenAI's; others may refuse an unknown field.
    assert body.get("prompt_cache_key") == ("019a2b3c-prompt-cache" if upstream.kind == "openai" else None)


@CREATE_AND_STREAM
def test_a_function_call_is_answered_by_its_output_through_previous_response_id(upstream: Upstream, stream: bool) -> None:
    reasoning = "Running the suite shows what fails."
    command = {"command": ["bash", "-lc", "pytest -q"], "workdir": "/repo", "timeout_ms": 120000}
    upstream.fake.enqueue(reply_tool_calls(tool_call("shell", command), thinking=reasoning), reply_text("One test fails: test_parse."))
    client, session = codex(upstream)
    with client:
        first, _ = ask(client, stream, codex_request(first_input("Run the tests.")))
        (call,) = function_calls(first)
        assert (call.name, call.arguments) == ("shell", command)
        output = {"type": "function_call_output", "call_id": call.id, "output": "F.\n1 failed, 1 passed in 0.12s"}
        second, headers = ask(client, stream, codex_request([output], previous_response_id=first.id))
    assert second.output_text == "One test fails: test_parse." and second.previous_response_id == first.id
    assert_usage(second)
    assert headers["x-trooper-session"] == session, "the continued response stays in Codex's session"
    (thought,) = [item for item in first.output if item.type == "reasoning"] or [None]
    if upstream.kind == "openai":  # OpenAI's reasoning shows as the summary Codex asked for
        assert thought is not None and [part.text for part in thought.summary] == [reasoning] and thought.encrypted_content
    else:
        assert ([] if thought is None else [part.text for part in thought.content or []]) == ([] if upstream.kind == "ollama" else [reasoning])

    received = upstream.last_received
    assert received.system_text == INSTRUCTIONS and received.user_texts() == [USER_INSTRUCTIONS, ENVIRONMENT, "Run the tests."]
    assert_tool_history(received, [call], [(call.id, "F.\n1 failed, 1 passed in 0.12s")])
    assert_reasoning_translated(upstream, received.body)
    if upstream.kind == "claude":
        signed = {"type": "thinking", "thinking": reasoning, "signature": FakeAnthropic._signature(reasoning)}
        assert received.conversation[3]["content"][0] == signed, "Claude gets its signed thinking back before its call"
    elif upstream.kind == "openai":
        assert thought is not None and received.conversation[3] == thought.model_dump(exclude_none=True), "OpenAI's item, in place"
    else:
        assert_nothing_of(received, reasoning)


def test_a_stateless_codex_resends_its_items_and_claude_gets_its_signed_reasoning_back(upstream: Upstream) -> None:
    reasoning = "The patch must keep the public API."
    patch = {"input": "*** Begin Patch\n*** Update File: src/config.py\n@@\n-    retrun cfg\n+    return cfg\n*** End Patch"}
    upstream.fake.enqueue(reply_tool_calls(tool_call("apply_patch", patch), thinking=reasoning), reply_text("Patched."))
    items = first_input("Fix the typo in src/config.py.")
    client, session = codex(upstream)
    with client:
        first, _ = ask(client, True, codex_request(items, store=False))
        (call,) = function_calls(first)
        # Codex keeps the output items (reasoning with its encrypted_content included) and resends them all.
        items += [item.model_dump(exclude_none=True) for item in first.output]
        items.append({"type": "function_call_output", "call_id": call.id, "output": "Success. Updated the following files:\nM src/config.py"})
        second, headers = ask(client, True, codex_request(items, store=False))
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(first.id)
    assert second.output_text == "Patched." and headers["x-trooper-session"] == session
    received = upstream.last_received
    assert_tool_history(received, [call], [(call.id, "Success. Updated the following files:\nM src/config.py")])
    # The resent items, each once: OpenAI's Responses API takes the reasoning as an item of its own.
    assert len(received.conversation) == (6 if upstream.kind == "openai" else 5)
    encrypted = [item.encrypted_content for item in first.output if item.type == "reasoning"]
    if upstream.kind == "claude":
        signature = FakeAnthropic._signature(reasoning)
        assert encrypted == ["trooper.signature:" + signature]
        assert received.conversation[3]["content"][0] == {"type": "thinking", "thinking": reasoning, "signature": signature}
    elif upstream.kind == "openai":
        (thought,) = [item for item in first.output if item.type == "reasoning"]
        assert encrypted == [upstream.fake.issued_reasoning[thought.id]], "OpenAI's own encrypted_content reaches Codex"
        assert received.conversation[3] == thought.model_dump(exclude_none=True), "and goes back verbatim, before its call"
    else:
        assert encrypted == ([] if upstream.kind == "ollama" else [None]), "only Claude's thinking is signed"
        assert_nothing_of(received, reasoning)


def stream_custom(client: openai.OpenAI, request: dict[str, Any]) -> Any:
    """A response through the SDK's ``responses.stream``, its custom call's input events checked
    against the call the stream ends with."""
    with client.responses.stream(**request) as stream:
        events = list(stream)
        response = stream.get_final_response()
    calls = [item for item in response.output if item.type == "custom_tool_call"]
    deltas = "".join(e.delta for e in events if e.type == "response.custom_tool_call_input.delta")
    done = [e.input for e in events if e.type == "response.custom_tool_call_input.done"]
    assert deltas == "".join(c.input for c in calls) and done == [c.input for c in calls]
    return response


@CREATE_AND_STREAM
@pytest.mark.parametrize("continued", ["previous_response_id", "resent_items"])
def test_a_custom_apply_patch_is_a_function_upstream_and_its_call_comes_back_byte_for_byte(
    upstream: Upstream, stream: bool, continued: str
) -> None:
    upstream.fake.enqueue(reply_tool_calls(tool_call("apply_patch", {"input": PATCH})), reply_text("Patched."))
    items = first_input("Fix the separator in src/config.py.")
    store = continued == "previous_response_id"
    client, _ = codex(upstream)
    with client:
        ask_once = (lambda request: stream_custom(client, request)) if stream else (lambda request: client.responses.create(**request))
        first = ask_once(codex_request(items, tools=CUSTOM_TOOLS, store=store))
        (call,) = first.output
        assert (call.type, call.name, call.input) == ("custom_tool_call", "apply_patch", PATCH)
        output = {"type": "custom_tool_call_output", "call_id": call.call_id, "output": PATCHED}
        if store:
            second = ask_once(codex_request([output], tools=CUSTOM_TOOLS, previous_response_id=first.id))
        else:  # a stateless Codex resends its items, the custom call among them
            second = ask_once(codex_request([*items, call.model_dump(exclude_none=True), output], tools=CUSTOM_TOOLS, store=False))
    assert second.output_text == "Patched." and second.tools[2].type == "custom"

    asked, answered = upstream.received()[-2:]
    offered = {name: (description, schema) for name, description, schema in asked.tools()}
    if asked.wire == "responses":  # gpt-5-codex, OpenAI's Responses API's alone, which has custom tools
        assert list(offered) == ["shell", "update_plan"] and asked.body["tools"][2] == APPLY_PATCH
        assert [i["type"] for i in answered.conversation[-2:]] == ["custom_tool_call", "custom_tool_call_output"]
    else:
        assert list(offered) == ["shell", "update_plan", "apply_patch"]
        description, schema = offered["apply_patch"]
        assert description.startswith(APPLY_PATCH["description"]) and f"```lark\n{PATCH_GRAMMAR}\n```" in description
        assert schema["type"] == "object" and schema["required"] == ["input"] and schema["properties"]["input"]["type"] == "string"
    assert_tool_history(answered, [SentCall(call.call_id, "apply_patch", {"input": PATCH})], [(call.call_id, PATCHED)])
    assert answered.user_texts() == [USER_INSTRUCTIONS, ENVIRONMENT, "Fix the separator in src/config.py."]


#: What recent Codex offers by default besides its own tools (``web_search = "disabled"`` leaves it out).
WEB_SEARCH = {"type": "web_search"}


@CREATE_AND_STREAM
def test_codex_with_web_search_is_answered_by_openai_and_refused_clearly_elsewhere(upstream: Upstream, stream: bool) -> None:
    upstream.fake.enqueue(reply_text("Use pytest 9."), reply_text("Run `pytest -q`."))
    items = first_input("Which pytest is current?")
    client, session = codex(upstream)
    with client:
        request = codex_request(items, tools=[*CUSTOM_TOOLS, WEB_SEARCH], store=False)
        if upstream.kind != "openai":
            with pytest.raises(openai.BadRequestError) as refused:
                ask(client, stream, request)
            message = refused.value.message
            assert "'web_search' run only on OpenAI's servers" in message and 'web_search = "disabled"' in message
            assert upstream.received() == [], "nothing reached the upstream"
            return
        first, headers = ask(client, stream, request)
        search, answer = first.output
        assert headers["x-trooper-decision"] == "openai (built-in tools: web_search)" and headers["x-trooper-session"] == session
        assert search.type == "web_search_call" and search.status == "completed" and answer.content[0].annotations
        # A stateless Codex resends every item, OpenAI's search among them.
        items += [item.model_dump(exclude_none=True) for item in first.output] + [user_message("And how do I run it?")]
        second, _ = ask(client, stream, codex_request(items, tools=[*CUSTOM_TOOLS, WEB_SEARCH], store=False))
    assert second.output_text == "Run `pytest -q`."
    sent = [r.json for r in upstream.fake.requests if r.path == "/v1/responses"]
    assert len(sent) == 2 and sent[-1]["tools"][-1] == WEB_SEARCH and sent[-1]["instructions"] == INSTRUCTIONS
    assert [t["name"] for t in sent[-1]["tools"][:3]] == ["shell", "update_plan", "apply_patch"]
    assert sent[-1]["tools"][2] == APPLY_PATCH, "a custom tool goes to OpenAI's Responses API as Codex sent it"
    resent = [item for item in sent[-1]["input"] if item.get("type") == "web_search_call"]
    assert resent == [search.model_dump(exclude_none=True)], "the search item goes back once, verbatim"
    assert sent[-1]["reasoning"] == REASONING and sent[-1]["prompt_cache_key"] == "019a2b3c-prompt-cache"
    assert sent[-1]["include"] == ["reasoning.encrypted_content"], "Codex's include reaches OpenAI as it came"


def test_codex_plan_is_the_sessions_steps_and_loops(upstream: Upstream) -> None:
    """Codex keeps its work list with ``update_plan`` (Claude Code's ``TodoWrite``): its completed
    steps and the ones still to do are the SITREP's, read from the call's structure."""
    plan = {"explanation": "Reproduce first.", "plan": [
        {"step": "Reproduce the failing ISO week test", "status": "completed"},
        {"step": "Fix parse_date for ISO weeks", "status": "in_progress"},
    ]}  # fmt: skip
    upstream.fake.enqueue(reply_tool_calls(tool_call("update_plan", plan)), reply_text("Plan noted; fixing parse_date now."))
    client, session = codex(upstream)
    with client:
        first, _ = ask(client, False, codex_request(first_input("Fix the failing date parsing test.")))
        (call,) = function_calls(first)
        ask(client, False, codex_request([{"type": "function_call_output", "call_id": call.id, "output": "Plan updated"}],
                                         previous_response_id=first.id))
    upstream.trooper.flush()
    sitrep = httpx.get(f"{upstream.trooper.url}/sitrep/{session}", timeout=10).json()
    assert "Reproduce the failing ISO week test" in sitrep["completed_steps"]
    assert "Fix parse_date for ISO weeks" in sitrep["open_loops"]
