import json

import openai
import pytest

from tests.wire.sdk import openai_completion, openai_stream_chunks, openai_stream_completion
from tests.wire.streams import accumulate, decode_in_steps
from trooper.conversation import (
    BlockStart,
    BlockStop,
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Request,
    Response,
    StreamAccumulator,
    StreamError,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ToolChoice,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    response_events,
)
from trooper.errors import InvalidRequest
from trooper.wire import UpstreamStreamError, WireError
from trooper.wire import openai as codec

FULL_REQUEST = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "Be terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/AAAA", "detail": "low"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "cat"}'}},
                {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}},
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}]},
        {"role": "user", "content": "thanks"},
    ],
    "tools": [{"type": "function", "function": {"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
    "tool_choice": "required",
    "parallel_tool_calls": False,
    "stop": "END",
    "max_completion_tokens": 300,
    "max_tokens": 100,
    "temperature": 1.5,
    "stream": True,
    "stream_options": {"include_usage": True},
    "user": "u1",
}


def test_decode_request_reads_every_field() -> None:
    request = codec.decode_request(FULL_REQUEST)
    assert request.system == "Be terse.\n\nUse tools."
    assert request.max_tokens == 300 and request.stop == ["END"] and request.temperature == 1.5
    assert request.stream and request.include_usage and request.metadata == {"user_id": "u1"}
    assert request.tool_choice == ToolChoice("any", None, True)
    assert [m.role for m in request.messages] == ["user", "assistant", "user", "user"]
    assert request.messages[0].content == [TextBlock("What is this?"), ImageBlock("image/jpeg", "/9j/AAAA"), ImageBlock(url="https://example.com/a.png")]
    assert request.messages[1].content == [ToolUseBlock("call_1", "lookup", {"q": "cat"}), ToolUseBlock("call_2", "now", {})]
    # consecutive tool messages become one user message of results
    assert request.messages[2].content == [ToolResultBlock("call_1", [TextBlock("a cat")]), ToolResultBlock("call_2", [TextBlock("noon")])]
    assert request.messages[3].content == [TextBlock("thanks")]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", ToolChoice("auto")), ("none", ToolChoice("none")), ({"type": "function", "function": {"name": "f"}}, ToolChoice("tool", "f"))],
)
def test_tool_choice_variants(choice: object, expected: ToolChoice) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": choice}
    request = codec.decode_request(body)
    assert request.tool_choice == expected
    encoded = codec.encode_request(request, "m", stream=False)
    assert encoded["tool_choice"] == choice
    assert codec.decode_request(encoded).tool_choice == expected


def test_request_survives_encode_then_decode() -> None:
    request = codec.decode_request(FULL_REQUEST)
    body = codec.encode_request(request, "gpt-4o-mini", stream=True)
    assert body["stream_options"] == {"include_usage": True} and body["max_tokens"] == 300
    assert body["messages"][0] == {"role": "system", "content": "Be terse.\n\nUse tools."}
    again = codec.decode_request(body)
    assert again.messages == request.messages and again.tools == request.tools
    assert again.tool_choice == request.tool_choice and again.stop == request.stop


def test_encode_request_for_reasoning_models_and_anthropic_shaped_history() -> None:
    request = Request(
        model="claude-x",
        messages=[
            Message("user", [TextBlock("look")]),
            Message("assistant", [ThinkingBlock("hidden"), TextBlock("ok"), ToolUseBlock("toolu_1", "shot", {})]),
            Message("user", [ToolResultBlock("toolu_1", [TextBlock("failed"), ImageBlock("image/png", "iVBO")], is_error=True), TextBlock("and?")]),
        ],
        max_tokens=50,
    )
    body = codec.encode_request(request, "o3-mini", stream=False)
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body and "stream_options" not in body
    assert body["messages"] == [
        {"role": "user", "content": "look"},
        {"role": "assistant", "content": "ok", "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: failed"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}, {"type": "text", "text": "and?"}]},
    ]


@pytest.mark.parametrize(
    ("model", "passed_on", "sent"),
    [("o4-mini", True, "low"), ("gpt-5-codex", True, "low"), ("gpt-4o-mini", True, None), ("o4-mini", False, None)],
)
def test_reasoning_effort_reaches_reasoning_models_of_upstreams_that_take_it(model: str, passed_on: bool, sent: str | None) -> None:
    # gpt-4o-mini refuses the field (400), and servers other than OpenAI's may refuse it too.
    request = codec.decode_request({"model": model, "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "low"})
    assert request.reasoning_effort == "low"
    assert request.thinking is None, "Chat Completions cannot carry Claude's signed thinking back"
    body = codec.encode_request(request, model, stream=False, openai_settings=passed_on)
    assert body.get("reasoning_effort") == sent


def test_a_user_turns_text_blocks_reach_the_upstream_as_separate_parts() -> None:
    # Claude Code opens a turn with <system-reminder> blocks beside what the person wrote: glued
    # into one string, "a" and "b" would read "ab". One block stays the plain string.
    request = Request(
        model="claude-x",
        messages=[
            Message("user", [TextBlock("<system-reminder>CLAUDE.md says: run make test</system-reminder>"), TextBlock("Why does CI fail?")]),
            Message("assistant", [ToolUseBlock("toolu_1", "Bash", {"command": "make test"})]),
            Message("user", [ToolResultBlock("toolu_1", [TextBlock("1 failed")]), TextBlock("Fix it.")]),
        ],
    )
    body = codec.encode_request(request, "gpt-4o-mini", stream=False)
    assert body["messages"][0] == {"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>CLAUDE.md says: run make test</system-reminder>"},
        {"type": "text", "text": "Why does CI fail?"},
    ]}  # fmt: skip
    assert body["messages"][-1] == {"role": "user", "content": "Fix it."}
    assert codec.decode_request(body).messages[0] == request.messages[0]


def test_top_k_is_read_and_sent_to_a_local_server_alone() -> None:
    request = codec.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_k": 40})
    assert request.top_k == 40
    assert codec.encode_request(request, "qwen3-8b", stream=False, local_server=True)["top_k"] == 40
    assert "top_k" not in codec.encode_request(request, "gpt-4o", stream=False, openai_settings=True), "OpenAI refuses it"
    assert "top_k" not in codec.encode_request(request, "gemini-2.5-flash", stream=False, tool_call_signatures=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model: field required"),
        ({"model": "m"}, "messages: field required"),
        ({"model": "m", "messages": [{"role": "system", "content": "x"}]}, "at least one user or assistant message"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role: must be one of"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}, "messages[0].content[0].type: must be one of text, image_url"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}]}, "messages[0].content[0].image_url.url: a data: URL must be base64"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id: field required"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{bad"}}]}]}, "messages[0].tool_calls[0].function.arguments: must be a JSON object"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}, "must encode a JSON object"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}, "tools[0].function: field required"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"}, "tool_choice: must be one of"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": [1]}, "stop: must be a string or an array of strings"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n: only 1 choice"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens: must be at least 1"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "extreme"}, "reasoning_effort: must be one of"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_k": -1}, "top_k: must be at least 0, got -1"),
    ],
)
def test_decode_request_rejects_bad_input_naming_the_field(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_request(body)
    assert message in caught.value.message


RESPONSE = Response(
    id="chatcmpl-1",
    model="gpt-4o",
    content=[TextBlock("Checking."), ToolUseBlock("call_1", "lookup", {"q": "ü"}), ToolUseBlock("call_2", "now", {})],
    stop_reason="tool_use",
    usage=Usage(7, 9),
)


def test_encoded_response_passes_sdk_validation_and_round_trips() -> None:
    body = codec.encode_response(RESPONSE)
    completion = openai_completion(body)
    assert completion.choices[0].finish_reason == "tool_calls"
    assert [c.function.name for c in completion.choices[0].message.tool_calls] == ["lookup", "now"]
    assert completion.usage.total_tokens == 16
    assert codec.decode_response(body) == RESPONSE


@pytest.mark.parametrize(
    ("finish", "canonical"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal"), ("tool_calls", "end_turn")],
)
def test_decode_response_maps_finish_reasons(finish: str, canonical: str) -> None:
    body = {"id": "c", "model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": finish}]}
    assert codec.decode_response(body).stop_reason == canonical


def test_decode_response_from_a_server_that_says_stop_after_a_tool_call() -> None:
    body = {
        "id": "c",
        "model": "gemini-2.0-flash",
        "choices": [{"index": 0, "message": {"role": "assistant", "reasoning_content": "think", "content": None, "tool_calls": [{"id": "x", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }
    response = codec.decode_response(body)
    assert response.stop_reason == "tool_use" and response.usage == Usage(1, 2)
    assert response.content == [ThinkingBlock("think"), ToolUseBlock("x", "f", {"a": 1})]
    assert codec.encode_response(response)["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_tokens_are_read_and_shown_apart_from_cached_prompt_tokens() -> None:
    usage = {
        "prompt_tokens": 40, "completion_tokens": 30, "total_tokens": 70,
        "prompt_tokens_details": {"cached_tokens": 16}, "completion_tokens_details": {"reasoning_tokens": 12},
    }
    body = {"id": "c", "model": "o4-mini", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}], "usage": usage}
    response = codec.decode_response(body)
    assert response.usage == Usage(24, 30, cache_read_input_tokens=16, reasoning_tokens=12)
    completion = openai_completion(codec.encode_response(response))
    assert completion.usage.completion_tokens_details.reasoning_tokens == 12
    assert completion.usage.prompt_tokens == 40 and completion.usage.prompt_tokens_details.cached_tokens == 16


def test_decode_response_rejects_malformed_bodies() -> None:
    with pytest.raises(WireError, match="no choices"):
        codec.decode_response({"choices": []})
    bad_call = {"choices": [{"message": {"tool_calls": [{"function": {"name": "f", "arguments": "{"}}]}}]}
    with pytest.raises(WireError, match="malformed"):
        codec.decode_response(bad_call)


def test_error_bodies_both_ways() -> None:
    assert codec.encode_error(401, "authentication_error", "bad key") == {
        "error": {"message": "bad key", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}
    }
    assert codec.encode_error(500, "api_error", "x")["error"]["type"] == "server_error"
    openai_429 = {"error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}
    assert codec.decode_error(429, json.dumps(openai_429).encode()) == ("rate_limit_error", "Rate limit reached")
    gemini_400 = [{"error": {"code": 400, "message": "API key not valid", "status": "INVALID_ARGUMENT"}}]
    assert codec.decode_error(400, json.dumps(gemini_400).encode()) == ("invalid_request_error", "API key not valid")
    assert codec.decode_error(503, b"upstream connect error") == ("overloaded_error", "upstream connect error")
    assert codec.decode_error(0, b'{"error": {"message": "quota", "code": "insufficient_quota"}}') == ("rate_limit_error", "quota")


# ---------------------------------------------------------------- streaming


def _sse(*chunks: object) -> bytes:
    return b"".join(f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks)


def _chunk(delta: dict | None = None, finish: str | None = None, **extra: object) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return {"id": "chatcmpl-9", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o", "choices": choices, **extra}


OPENAI_STREAM = _sse(
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Let me "}),
    _chunk({"content": "check ✓."}),
    _chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather", "arguments": ""}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
    _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty": "Paris"}'}}]}),
    _chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "time", "arguments": "{}"}}]}),
    _chunk({}, "tool_calls"),
    _chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}),
    "[DONE]",
)


def test_stream_decoder_handles_role_chunk_parallel_tools_and_usage_chunk() -> None:
    events = decode_in_steps(codec, OPENAI_STREAM)
    assert events[0] == MessageStart("chatcmpl-9", "gpt-4o")
    assert events[1:4] == [BlockStart(0, TextBlock("")), TextDelta(0, "Let me "), TextDelta(0, "check ✓.")]
    assert events[4:6] == [BlockStop(0), BlockStart(1, ToolUseBlock("call_a", "weather", {}))]
    assert events[-2:] == [MessageDelta("tool_use", Usage(5, 8)), MessageStop()]
    response = accumulate(events)
    assert response.content == [TextBlock("Let me check ✓."), ToolUseBlock("call_a", "weather", {"city": "Paris"}), ToolUseBlock("call_b", "time", {})]
    assert response.stop_reason == "tool_use"


def test_stream_decoder_handles_gemini_tool_calls_without_index_and_with_repeated_index() -> None:
    raw = _sse(
        _chunk({"role": "assistant", "tool_calls": [{"id": "g1", "type": "function", "function": {"name": "a", "arguments": '{"x":'}}]}),
        _chunk({"tool_calls": [{"function": {"arguments": "1}"}}]}),
        _chunk({"tool_calls": [{"index": 0, "id": "g2", "type": "function", "function": {"name": "b", "arguments": "{}"}}]}),
        _chunk({}, "stop"),
        "[DONE]",
    )
    response = accumulate(decode_in_steps(codec, raw, step=7))
    assert response.content == [ToolUseBlock("g1", "a", {"x": 1}), ToolUseBlock("g2", "b", {})]
    assert response.stop_reason == "tool_use"


def test_stream_decoder_reads_reasoning_content_as_thinking_and_interleaved_text() -> None:
    raw = _sse(
        _chunk({"role": "assistant", "reasoning_content": "hmm"}),
        _chunk({"content": "A"}),
        _chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}]}),
        _chunk({"content": "B"}),
        _chunk({}, "length"),
        "[DONE]",
    )
    response = accumulate(decode_in_steps(codec, raw))
    assert response.content == [ThinkingBlock("hmm"), TextBlock("A"), ToolUseBlock("c", "f", {}), TextBlock("B")]


def test_stream_decoder_failures() -> None:
    with pytest.raises(WireError, match=r"without data: \[DONE\]"):
        decode_in_steps(codec, OPENAI_STREAM[: OPENAI_STREAM.index(b"data: [DONE]")])
    with pytest.raises(UpstreamStreamError) as caught:
        decode_in_steps(codec, _sse(_chunk({"content": "x"}), {"error": {"message": "server overloaded", "type": "server_error"}}))
    assert (caught.value.error_type, caught.value.message) == ("api_error", "server overloaded")
    with pytest.raises(WireError, match="not JSON"):
        decode_in_steps(codec, b"data: {nope\n\n")
    with pytest.raises(WireError, match="no function name"):
        decode_in_steps(codec, _sse(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})))


def test_interleaved_parallel_tool_calls_come_out_whole_and_in_order() -> None:
    """Several OpenAI-compatible servers interleave parallel calls' fragments (0, 1, 0, 1…)."""
    interleaved = _sse(
        _chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x": '}}]}),
        _chunk({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": '{"y": '}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        _chunk({"tool_calls": [{"index": 1, "function": {"arguments": "2}"}}]}),
        _chunk({}, "tool_calls"),
    ) + b"data: [DONE]\n\n"
    accumulator = StreamAccumulator()
    for event in decode_in_steps(codec, interleaved):
        accumulator.add(event)
    response = accumulator.response()
    assert [(b.id, b.name, b.input) for b in response.content] == [("a", "f", {"x": 1}), ("b", "g", {"y": 2})]
    assert response.stop_reason == "tool_use"


def _encode(events: list, include_usage: bool = False) -> bytes:
    encoder = codec.StreamEncoder("fallback", include_usage=include_usage)
    return b"".join(encoder.encode(e) for e in events)


def test_stream_encoder_output_is_accumulated_by_the_sdk() -> None:
    raw = _encode(response_events(RESPONSE), include_usage=True)
    completion = openai_stream_completion(raw)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content == "Checking."
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls] == [
        ("call_1", "lookup", {"q": "ü"}),
        ("call_2", "now", {}),
    ]
    assert completion.usage.prompt_tokens == 7 and completion.usage.completion_tokens == 9
    chunks = openai_stream_chunks(raw)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 16
    assert raw.endswith(b"data: [DONE]\n\n")


def test_stream_encoder_sends_tool_identity_once_and_no_usage_unless_asked() -> None:
    events = [
        MessageStart("m", "gpt"),
        BlockStart(0, ToolUseBlock("call_1", "f", {})),
        ToolInputDelta(0, '{"a"'),
        ToolInputDelta(0, ": 1}"),
        BlockStop(0),
        MessageDelta("end_turn", Usage(1, 2)),
        MessageStop(),
    ]
    chunks = openai_stream_chunks(_encode(events))
    calls = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert [(c.index, c.id, c.function.name) for c in calls] == [(0, "call_1", "f"), (0, None, None), (0, None, None)]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"  # derived, not copied
    assert all(c.usage is None for c in chunks)


def test_stream_error_becomes_an_error_frame_without_done() -> None:
    events = [MessageStart("m", "gpt"), BlockStart(0, TextBlock("")), TextDelta(0, "par"), StreamError("overloaded_error", "gone", 529), MessageStop()]
    raw = _encode(events)
    assert raw.endswith(b'data: {"error":{"message":"gone","type":"server_error","param":null,"code":"overloaded"}}\n\n')
    assert b"[DONE]" not in raw
    with pytest.raises(openai.APIError, match="gone"):
        openai_stream_completion(raw)


@pytest.mark.parametrize(
    ("model", "asked", "sent"),
    [("gpt-4o-mini", 32_000, 16_384), ("gpt-4.1-mini", 32_000, 32_000), ("gemini-2.0-flash", 32_000, 8_192),
     ("gpt-4o", 1_000, 1_000), ("llama3.1:8b", 32_000, 32_000)],
)
def test_a_model_is_never_asked_for_more_output_than_it_accepts(model: str, asked: int, sent: int) -> None:
    """Claude Code asks for 32,000 tokens; gpt-4o-mini refuses more than 16,384 with a 400, so a
    fallback there would fail. Unknown models (local servers) are asked as sent."""
    request = Request("claude-sonnet-4-5", [Message("user", [TextBlock("hi")])], max_tokens=asked)
    assert codec.encode_request(request, model, stream=False)["max_tokens"] == sent
