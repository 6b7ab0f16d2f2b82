"""Cursor- and Continue-style requests, replayed through the openai SDK's Chat Completions against
every upstream kind.

Such an editor sends a system prompt, its tools with a ``tool_choice`` (``auto``, ``required`` or a
named function), ``stream_options.include_usage``, takes parallel tool calls and sends their
results back as ``tool`` messages, attaches a screenshot to a user message (a PNG data URL) and
limits the answer with ``max_tokens`` or, for reasoning models, ``max_completion_tokens``. It names
no session: Trooper derives one from the conversation, the same on every resend. Streamed and not.

How each upstream is forced: ``tests/compat/upstreams.py`` (one provider configured per Trooper,
``X-Trooper-Route`` on every request).
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from tests.compat.upstreams import CREATE_AND_STREAM, SentCall, Upstream, assert_tool_history
from tests.fakes import reply_text, reply_tool_calls, tool_call
from tests.images import TINY_PNG

MODEL = "gpt-4.1"
SYSTEM = (
    "You are a powerful agentic AI coding assistant. You operate in Cursor, the world's best IDE.\n"
    "<tool_calling>Only call tools when they are necessary.</tool_calling>"
)


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


TOOLS = [
    _function("codebase_search", "Find snippets of code from the codebase most relevant to the search query.",
              {"query": {"type": "string"}, "target_directories": {"type": "array", "items": {"type": "string"}}}, ["query"]),
    _function("read_file", "Read the contents of a file.",
              {"target_file": {"type": "string"}, "start_line_one_indexed": {"type": "integer"},
               "end_line_one_indexed_inclusive": {"type": "integer"}}, ["target_file"]),
    _function("run_terminal_cmd", "Propose a command to run on behalf of the user.",
              {"command": {"type": "string"}, "is_background": {"type": "boolean"}}, ["command", "is_background"]),
    _function("edit_file", "Propose an edit to an existing file.",
              {"target_file": {"type": "string"}, "instructions": {"type": "string"}, "code_edit": {"type": "string"}},
              ["target_file", "instructions", "code_edit"]),
]  # fmt: skip
#: tool_choice as the client sends it, and as Claude takes it (Ollama has none).
TOOL_CHOICES = {
    "auto": ("auto", {"type": "auto"}),
    "required": ("required", {"type": "any"}),
    "named": ({"type": "function", "function": {"name": "edit_file"}}, {"type": "tool", "name": "edit_file"}),
}


def editor_request(messages: list[dict[str, Any]], *, stream: bool, tool_choice: Any = "auto", **extra: Any) -> dict[str, Any]:
    request = {"model": MODEL, "messages": [{"role": "system", "content": SYSTEM}, *messages], "tools": TOOLS,
               "tool_choice": tool_choice, "max_tokens": 2048, **extra}  # fmt: skip
    if stream:
        request["stream_options"] = {"include_usage": True}
    return request


def ask(client: openai.OpenAI, stream: bool, request: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    """(the completion, Trooper's response headers), created or streamed; a stream is accumulated
    by the SDK's own state machine, and its usage comes alone in the last chunk, as asked."""
    if not stream:
        raw = client.chat.completions.with_raw_response.create(**request)
        return raw.parse(), dict(raw.headers)
    raw = client.chat.completions.with_raw_response.create(**request, stream=True)
    state = ChatCompletionStreamState(input_tools=request["tools"])
    chunks = list(raw.parse())
    for chunk in chunks:
        state.handle_chunk(chunk)
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(chunk.usage is None for chunk in chunks[:-1])
    completion = state.get_final_completion()
    assert completion.usage == chunks[-1].usage
    return completion, dict(raw.headers)


def tool_calls(completion: Any) -> list[SentCall]:
    calls = completion.choices[0].message.tool_calls or []
    return [SentCall(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls]


def as_history(completion: Any) -> dict[str, Any]:
    """An answer as the editor puts it back in the conversation (Gemini's signatures included)."""
    message = completion.choices[0].message
    return message.model_dump(exclude_none=True, exclude={"parsed", "refusal", "annotations"})


def assert_usage(completion: Any) -> None:
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def assert_tool_choice_translated(upstream: Upstream, body: dict[str, Any], choice: str) -> None:
    sent, for_claude = TOOL_CHOICES[choice]
    if upstream.kind == "claude":
        assert body["tool_choice"] == for_claude
    elif upstream.wire == "openai":
        assert body["tool_choice"] == sent
    else:
        assert "tool_choice" not in body, "Ollama has no tool_choice: the tools are offered as they are"


# ---------------------------------------------------------------- the suite


@CREATE_AND_STREAM
def test_parallel_tool_calls_arrive_whole_and_their_results_go_back(upstream: Upstream, stream: bool) -> None:
    upstream.fake.enqueue(
        reply_tool_calls(
            tool_call("read_file", {"target_file": "src/app.py"}),
            tool_call("read_file", {"target_file": "src/cli.py", "start_line_one_indexed": 1, "end_line_one_indexed_inclusive": 40}),
        ),
        reply_text("Both files define main()."),
    )
    messages: list[dict[str, Any]] = [{"role": "user", "content": "<user_query>\nWhere is main defined?\n</user_query>"}]
    with upstream.openai_client() as client:
        first, first_headers = ask(client, stream, editor_request(messages, stream=stream))
        calls = tool_calls(first)
        assert [(c.name, c.arguments) for c in calls] == [
            ("read_file", {"target_file": "src/app.py"}),
            ("read_file", {"target_file": "src/cli.py", "start_line_one_indexed": 1, "end_line_one_indexed_inclusive": 40}),
        ]
        assert first.choices[0].finish_reason == "tool_calls" and len({c.id for c in calls}) == 2
        outputs = ["def main():\n    serve()", "def main(argv=None):\n    run(argv)"]
        messages += [as_history(first), *({"role": "tool", "tool_call_id": c.id, "content": out} for c, out in zip(calls, outputs))]
        final, headers = ask(client, stream, editor_request(messages, stream=stream))
    assert final.choices[0].message.content == "Both files define main()." and final.choices[0].finish_reason == "stop"
    assert_usage(first)
    assert_usage(final)
    assert headers["x-trooper-provider"] == upstream.kind
    assert headers["x-trooper-session"] == first_headers["x-trooper-session"], "a resent history lands in the same session"

    received = upstream.last_received
    assert received.model == upstream.model_for(MODEL) and received.system_text == SYSTEM
    assert received.tools() == [(t["function"]["name"], t["function"]["description"], t["function"]["parameters"]) for t in TOOLS]
    assert_tool_history(received, calls, [(c.id, out) for c, out in zip(calls, outputs)])
    assert_tool_choice_translated(upstream, received.body, "auto")
    if upstream.kind == "claude":
        assert [len(m["content"]) for m in received.conversation] == [1, 2, 2], "both results answer the call turn together"
    elif upstream.wire == "openai":
        assert received.body["messages"][0] == {"role": "system", "content": SYSTEM}, "the prefix is the client's own"
        assert len(received.conversation) == 4


@pytest.mark.parametrize("choice", ["required", "named"])
def test_a_forced_tool_choice_is_translated(upstream: Upstream, choice: str) -> None:
    edit = {"target_file": "src/config.py", "instructions": "Fix the typo.", "code_edit": "    return cfg"}
    upstream.fake.enqueue(reply_tool_calls(tool_call("edit_file", edit)))
    messages = [{"role": "user", "content": "Fix the typo in src/config.py."}]
    with upstream.openai_client() as client:
        completion, _ = ask(client, False, editor_request(messages, stream=False, tool_choice=TOOL_CHOICES[choice][0]))
    assert [(c.name, c.arguments) for c in tool_calls(completion)] == [("edit_file", edit)]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert_usage(completion)
    assert_tool_choice_translated(upstream, upstream.last_received.body, choice)


@CREATE_AND_STREAM
@pytest.mark.parametrize(("model", "limit"), [(MODEL, "max_tokens"), ("gpt-5", "max_completion_tokens")])
def test_an_image_and_the_answers_limit_reach_the_upstream(upstream: Upstream, stream: bool, model: str, limit: str) -> None:
    upstream.fake.enqueue(reply_text("A single red pixel."))
    screenshot = [
        {"type": "text", "text": "What does this screenshot show?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{TINY_PNG}", "detail": "auto"}},
    ]
    request = editor_request([{"role": "user", "content": screenshot}], stream=stream, model=model)
    request[limit] = request.pop("max_tokens")
    with upstream.openai_client() as client:
        completion, headers = ask(client, stream, request)
    assert completion.choices[0].message.content == "A single red pixel." and completion.choices[0].finish_reason == "stop"
    assert_usage(completion)
    assert "images omitted" not in headers["x-trooper-decision"]
    received = upstream.last_received
    assert received.model == upstream.model_for(model)
    assert received.images() == [TINY_PNG] and received.user_texts() == ["What does this screenshot show?"]
    assert received.max_tokens == 2048
    if upstream.kind == "openai":
        # OpenAI's reasoning models take max_completion_tokens only; others still take max_tokens.
        assert limit in received.body and ({"max_tokens", "max_completion_tokens"} - {limit}).isdisjoint(received.body)
    if upstream.kind == "claude":
        image = received.conversation[0]["content"][1]
        assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}}
