"""Claude Code's requests, replayed through the anthropic SDK against every upstream kind.

Claude Code calls ``client.beta.messages`` (``POST /v1/messages?beta=true``) with a system prompt
of two text blocks, the second marked ``cache_control``; its tools, the last one marked;
``anthropic-beta`` and ``X-Claude-Code-Session-Id`` headers and ``metadata.user_id``; user turns
that open with ``<system-reminder>`` blocks and carry the moving cache marker on their last block;
extended thinking whose signed blocks go back on the next turn; parallel tool calls answered by
their results in one user turn; ``count_tokens``. It streams its turns; both ways are replayed.

How each upstream is forced: ``tests/compat/upstreams.py`` (one provider configured per Trooper,
``X-Trooper-Route`` on every request).
"""

from __future__ import annotations

import uuid
from typing import Any

import anthropic

from tests.compat.upstreams import CREATE_AND_STREAM, SentCall, Upstream, assert_nothing_of, assert_tool_history
from tests.fakes import FakeAnthropic, reply_text, reply_tool_calls, tool_call

MODEL = "claude-sonnet-4-5-20250929"
BETAS = ["claude-code-20250219", "interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14"]
USER_ID = "user_4f1d0c0e9b_account__session_5b3c1f0e-0f7e-4c0c-9a8e-2d1f0a6b7c11"
THINKING = {"type": "enabled", "budget_tokens": 31999}
EPHEMERAL = {"type": "ephemeral"}
SYSTEM = [
    {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
    {
        "type": "text",
        "text": "You are an interactive CLI tool that helps users with software engineering tasks. Use the "
        "instructions below and the tools available to you to assist the user.\n\n# Tone and style\nBe concise.\n\n"
        "<env>\nWorking directory: /repo\nIs directory a git repo: Yes\nPlatform: linux\n</env>",
        "cache_control": EPHEMERAL,
    },
]
SYSTEM_TEXT = "\n\n".join(block["text"] for block in SYSTEM)
_SCHEMA = "http://json-schema.org/draft-07/schema#"


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False, "$schema": _SCHEMA}
    return {"name": name, "description": description, "input_schema": schema}


_PATH = {"type": "string", "description": "The absolute path to the file"}
TOOLS = [
    _tool("Task", "Launch a new agent to handle complex, multi-step tasks autonomously.",
          {"description": {"type": "string"}, "prompt": {"type": "string"}, "subagent_type": {"type": "string"}},
          ["description", "prompt", "subagent_type"]),
    _tool("Bash", "Executes a given bash command in a persistent shell session.",
          {"command": {"type": "string"}, "timeout": {"type": "number"}, "description": {"type": "string"}}, ["command"]),
    _tool("Glob", "Fast file pattern matching tool that works with any codebase size.",
          {"pattern": {"type": "string"}, "path": {"type": "string"}}, ["pattern"]),
    _tool("Grep", "A powerful search tool built on ripgrep.",
          {"pattern": {"type": "string"}, "path": {"type": "string"},
           "output_mode": {"type": "string", "enum": ["content", "files_with_matches", "count"]}}, ["pattern"]),
    _tool("Read", "Reads a file from the local filesystem.",
          {"file_path": _PATH, "offset": {"type": "number"}, "limit": {"type": "number"}}, ["file_path"]),
    _tool("Edit", "Performs exact string replacements in files.",
          {"file_path": _PATH, "old_string": {"type": "string"}, "new_string": {"type": "string"},
           "replace_all": {"type": "boolean", "default": False}}, ["file_path", "old_string", "new_string"]),
    _tool("TodoWrite", "Use this tool to create and manage a structured task list for your current coding session.",
          {"todos": {"type": "array", "items": {"type": "object", "properties": {"content": {"type": "string"},
           "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]}}, "required": ["content", "status"]}}},
          ["todos"]),
]  # fmt: skip
TOOLS[-1]["cache_control"] = EPHEMERAL
CLAUDE_MD_REMINDER = (
    "<system-reminder>\nAs you answer the user's questions, you can use the following context:\n# claudeMd\n"
    "Codebase and user instructions are shown below.\n\nContents of /repo/CLAUDE.md:\n\nRun `make test` before committing.\n"
    "\n      IMPORTANT: this context may or may not be relevant to your tasks.\n</system-reminder>\n"
)
TODO_REMINDER = "<system-reminder>\nThe TodoWrite tool hasn't been used recently.\n</system-reminder>"


# ---------------------------------------------------------------- Claude Code's request shape


def without_cache_markers(message: dict[str, Any]) -> dict[str, Any]:
    content = message["content"]
    if isinstance(content, str):
        return message
    return {**message, "content": [{k: v for k, v in block.items() if k != "cache_control"} for block in content]}


def next_turn(history: list[dict[str, Any]], *blocks: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages Claude Code sends: the history, its cache marker moved onto the last block of
    the new user turn."""
    last = {**blocks[-1], "cache_control": EPHEMERAL}
    return [*(without_cache_markers(m) for m in history), {"role": "user", "content": [*blocks[:-1], last]}]


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_result(call_id: str, output: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": output}


def as_history(message: Any) -> dict[str, Any]:
    """An answer as Claude Code puts it back in the conversation."""
    return {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]}


def as_claude_receives(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` as Trooper sends them on to Claude: unchanged, but for a tool result's string
    content, sent as the one text block it is shorthand for (Claude reads the two alike)."""

    def block(b: dict[str, Any]) -> dict[str, Any]:
        return {**b, "content": [text(b["content"])]} if b["type"] == "tool_result" and isinstance(b["content"], str) else b

    return [{**m, "content": [block(b) for b in m["content"]]} for m in messages]


def claude_code_request(messages: list[dict[str, Any]], *, thinking: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": MODEL, "max_tokens": 32000, "system": SYSTEM, "tools": TOOLS, "messages": messages,
        "metadata": {"user_id": USER_ID}, "betas": BETAS,
    }
    if thinking:
        request["thinking"] = THINKING
    else:
        request["extra_body"] = {"temperature": 1}  # this SDK's beta create has no parameter for it
    return request


def claude_code(upstream: Upstream) -> tuple[anthropic.Anthropic, str]:
    """An anthropic client with Claude Code's headers, and the session id it names."""
    session = str(uuid.uuid4())
    client = upstream.anthropic_client(**{"X-Claude-Code-Session-Id": session, "User-Agent": "claude-cli/2.0.14 (external, cli)", "x-app": "cli"})
    return client, session


def ask(client: anthropic.Anthropic, stream: bool, request: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """(the message, Trooper's response headers), created or streamed (as the SDK accumulates it)."""
    if stream:
        with client.beta.messages.stream(**request) as events:
            return events.get_final_message(), dict(events.response.headers)
    # An explicit timeout, as Claude Code sets one: the SDK refuses max_tokens this large without.
    raw = client.beta.messages.with_raw_response.create(**request, timeout=60)
    return raw.parse(), dict(raw.headers)


def tool_uses(message: Any) -> list[SentCall]:
    return [SentCall(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]


def assert_usage(message: Any) -> None:
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


# ---------------------------------------------------------------- the suite


@CREATE_AND_STREAM
def test_a_turn_reaches_the_upstream_in_its_own_shape(upstream: Upstream, stream: bool) -> None:
    upstream.fake.enqueue(reply_text("It is a proxy for LLM APIs."))
    messages = next_turn([], text(CLAUDE_MD_REMINDER), text("What does this repository do?"))
    client, session = claude_code(upstream)
    with client:
        message, headers = ask(client, stream, claude_code_request(messages))
    assert [(b.type, b.text) for b in message.content] == [("text", "It is a proxy for LLM APIs.")]
    assert message.stop_reason == "end_turn"
    assert_usage(message)
    assert headers["x-trooper-session"] == session and headers["x-trooper-provider"] == upstream.kind

    received = upstream.last_received
    assert received.model == upstream.model_for(MODEL)
    assert received.system_text == SYSTEM_TEXT
    assert received.user_texts() == received.as_sent(CLAUDE_MD_REMINDER, "What does this repository do?")
    assert received.tools() == [(t["name"], t["description"], t["input_schema"]) for t in TOOLS]
    if upstream.kind == "claude":
        # Byte for byte what Claude Code sent: its prompt cache hits only on an unchanged prefix.
        assert received.body["system"] == SYSTEM and received.body["tools"] == TOOLS and received.body["messages"] == as_claude_receives(messages)
        assert received.body["metadata"] == {"user_id": USER_ID} and received.body["max_tokens"] == 32000
        assert received.headers["anthropic-beta"] == ",".join(BETAS)
    else:
        # The prefix is the client's system prompt and nothing else; Anthropic-only hints stay behind.
        assert received.body["messages"][0] == {"role": "system", "content": SYSTEM_TEXT}
        assert len(received.conversation) == 1
        assert "cache_control" not in received.text() and "anthropic-beta" not in received.headers
        # gpt-4o-mini accepts at most 16,384: asked for more, the real API would refuse the turn.
        assert received.max_tokens == (16_384 if received.model == "gpt-4o-mini" else 32000)


@CREATE_AND_STREAM
def test_parallel_tool_calls_arrive_whole_and_their_results_go_back(upstream: Upstream, stream: bool) -> None:
    upstream.fake.enqueue(
        reply_tool_calls(
            tool_call("Read", {"file_path": "/repo/src/app.py"}),
            tool_call("Read", {"file_path": "/repo/src/cli.py", "limit": 200}),
            text="I'll read both files.",
        ),
        reply_text("Both define main()."),
    )
    question = next_turn([], text(CLAUDE_MD_REMINDER), text("Where is main defined?"))
    client, session = claude_code(upstream)
    with client:
        first, _ = ask(client, stream, claude_code_request(question))
        calls = tool_uses(first)
        assert [(c.name, c.arguments) for c in calls] == [
            ("Read", {"file_path": "/repo/src/app.py"}), ("Read", {"file_path": "/repo/src/cli.py", "limit": 200}),
        ]
        assert len({c.id for c in calls}) == 2 and first.stop_reason == "tool_use"
        assert [b.type for b in first.content] == ["text", "tool_use", "tool_use"] and first.content[0].text == "I'll read both files."
        outputs = ["     1\tdef main():\n     2\t    serve()", "     1\tdef main(argv=None):\n     2\t    run(argv)"]
        results = [tool_result(c.id, out) for c, out in zip(calls, outputs)]
        messages = next_turn([*question, as_history(first)], *results, text(TODO_REMINDER))
        final, headers = ask(client, stream, claude_code_request(messages))
    assert final.content[0].text == "Both define main()." and final.stop_reason == "end_turn"
    assert_usage(final)
    assert headers["x-trooper-session"] == session
    received = upstream.last_received
    assert_tool_history(received, calls, [(c.id, out) for c, out in zip(calls, outputs)])
    assert received.user_texts()[-1] == TODO_REMINDER, "the reminder after the results reaches the model too"
    if upstream.kind == "claude":
        assert received.body["messages"] == as_claude_receives(messages)


def test_a_multi_turn_tool_loop_resends_the_whole_history(upstream: Upstream) -> None:
    steps = [
        tool_call("Grep", {"pattern": "def parse_config", "path": "/repo", "output_mode": "content"}),
        tool_call("Read", {"file_path": "/repo/src/config.py"}),
        tool_call("Edit", {"file_path": "/repo/src/config.py", "old_string": "retrun cfg", "new_string": "return cfg"}),
    ]
    outputs = ["src/config.py:12:def parse_config(path):", "    12\tdef parse_config(path):\n    13\t    retrun cfg",
               "The file /repo/src/config.py has been updated."]  # fmt: skip
    upstream.fake.enqueue(*(reply_tool_calls(step) for step in steps), reply_text("Fixed the typo in parse_config."))
    messages = next_turn([], text(CLAUDE_MD_REMINDER), text("Fix the typo in parse_config."))
    calls: list[SentCall] = []
    client, session = claude_code(upstream)
    with client:
        for output in outputs:
            answer, headers = ask(client, True, claude_code_request(messages))
            assert headers["x-trooper-session"] == session and answer.stop_reason == "tool_use"
            (call,) = tool_uses(answer)
            calls.append(call)
            assert_tool_history(upstream.last_received, calls[:-1], [(c.id, out) for c, out in zip(calls[:-1], outputs)])
            messages = next_turn([*messages, as_history(answer)], tool_result(call.id, output))
        final, _ = ask(client, True, claude_code_request(messages))
    assert final.content[0].text == "Fixed the typo in parse_config." and final.stop_reason == "end_turn"
    assert [(c.name, c.arguments) for c in calls] == [(s.name, dict(s.arguments)) for s in steps]
    received = upstream.received()
    assert len(received) == 4, "one upstream call per turn: no retry, no fallback"
    assert_tool_history(received[-1], calls, [(c.id, out) for c, out in zip(calls, outputs)])
    if upstream.kind == "claude":
        assert received[-1].body["messages"] == as_claude_receives(messages)
    else:
        assert len(received[-1].conversation) == 1 + 2 * len(outputs) and received[-1].system_text == SYSTEM_TEXT


@CREATE_AND_STREAM
def test_thinking_goes_back_signed_to_claude_and_never_elsewhere(upstream: Upstream, stream: bool) -> None:
    reasoning = "The failure is probably in the fixture."
    upstream.fake.enqueue(
        reply_tool_calls(tool_call("Read", {"file_path": "/repo/tests/test_parse.py"}), text="Let me read the test.", thinking=reasoning),
        reply_text("The fixture path is wrong."),
    )
    question = next_turn([], text(CLAUDE_MD_REMINDER), text("Why does test_parse fail?"))
    client, _ = claude_code(upstream)
    with client:
        first, _ = ask(client, stream, claude_code_request(question, thinking=True))
        (call,) = tool_uses(first)
        messages = next_turn([*question, as_history(first)], tool_result(call.id, "def test_parse(tmp_path): ..."))
        final, _ = ask(client, stream, claude_code_request(messages, thinking=True))
    assert final.content[-1].text == "The fixture path is wrong."
    thinking = [b for b in first.content if b.type == "thinking"]
    asked, answered = upstream.received()
    if upstream.kind == "claude":
        signature = FakeAnthropic._signature(reasoning)
        assert [(b.thinking, b.signature) for b in thinking] == [(reasoning, signature)]
        assert asked.body["thinking"] == answered.body["thinking"] == THINKING
        assert answered.body["messages"][1]["content"][0] == {"type": "thinking", "thinking": reasoning, "signature": signature}
        assert answered.body["messages"] == as_claude_receives(messages)
    else:
        # Thinking is Claude's: no other upstream is asked for it, nor sent it back.
        assert "thinking" not in asked.body and "thinking" not in answered.body
        assert_nothing_of(answered, reasoning)
        # An OpenAI-compatible upstream's reasoning_content shows as unsigned thinking; Ollama's fake has none.
        assert [(b.thinking, b.signature) for b in thinking] == ([] if upstream.kind == "ollama" else [(reasoning, "")])
        assert_tool_history(answered, [call], [(call.id, "def test_parse(tmp_path): ...")])


def test_claudes_signed_and_redacted_thinking_in_the_history_reaches_claude_alone(upstream: Upstream) -> None:
    signature = "EqQBCkYIBxgCKkBa3Yx2SkLq0D4z8mFf0Pz1nQ"
    redacted = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"
    earlier = [
        {"type": "redacted_thinking", "data": redacted},
        {"type": "thinking", "thinking": "The user wants the file list.", "signature": signature},
        {"type": "text", "text": "Listing them."},
        {"type": "tool_use", "id": "toolu_01EarlierGlobCall000000", "name": "Glob", "input": {"pattern": "**/*"}},
    ]
    upstream.fake.enqueue(reply_text("There are two files."))
    history = next_turn([], text(CLAUDE_MD_REMINDER), text("List the files."))
    messages = next_turn([*history, {"role": "assistant", "content": earlier}], tool_result("toolu_01EarlierGlobCall000000", "a.py\nb.py"))
    client, _ = claude_code(upstream)
    with client:
        answer, _ = ask(client, True, claude_code_request(messages, thinking=True))
    assert answer.content[-1].text == "There are two files."
    received = upstream.last_received
    assert_tool_history(received, [SentCall("toolu_01EarlierGlobCall000000", "Glob", {"pattern": "**/*"})],
                        [("toolu_01EarlierGlobCall000000", "a.py\nb.py")])  # fmt: skip
    if upstream.kind == "claude":
        assert received.body["messages"][1]["content"] == earlier
    else:
        assert_nothing_of(received, signature, redacted)


def test_count_tokens_asks_claude_only_when_claude_would_answer(upstream: Upstream) -> None:
    messages = next_turn([], text(CLAUDE_MD_REMINDER), text("What does this repository do?"))
    request = {"model": MODEL, "system": SYSTEM, "tools": TOOLS, "messages": messages, "thinking": THINKING, "betas": BETAS}
    client, _ = claude_code(upstream)
    with client:
        raw = client.beta.messages.with_raw_response.count_tokens(**request)
    tokens = raw.parse().input_tokens
    assert tokens > 0
    if upstream.kind == "claude":
        (asked,) = upstream.fake.requests
        assert asked.path == "/v1/messages/count_tokens" and raw.headers["x-trooper-token-count"] == "claude"
        assert tokens == asked.input_tokens(), "Claude's own count"
        body = asked.json
        assert (body["system"], body["tools"], body["messages"], body["thinking"]) == (SYSTEM, TOOLS, messages, THINKING)
        assert asked.headers["anthropic-beta"].startswith(",".join(BETAS)), "the SDK adds its token-counting beta"
    else:
        assert raw.headers["x-trooper-token-count"] == "estimate"
        assert upstream.received() == [], "counting never asks another provider for an answer"
