import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openai.types.shared import ReasoningEffort

from tests.wire.sdk import openai_response, openai_response_stream, response_fields
from trooper.conversation import (
    BlockStart,
    BlockStop,
    HostedToolBlock,
    HostedToolProgress,
    HostedToolUpdate,
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Response,
    StreamError,
    TextAnnotation,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    Tool,
    ToolChoice,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    response_events,
)
from trooper.errors import InvalidRequest
from trooper.wire import responses as codec

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": True}

FULL_REQUEST: dict[str, Any] = {
    "model": "gpt-5",
    "instructions": "Be terse.",
    "input": [
        {"role": "developer", "content": "Use tools."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "data:image/jpeg;base64,/9j/AAAA", "detail": "low"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": [{"type": "reasoning_text", "text": "Look it up."}], "encrypted_content": "trooper.signature:sig-1"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": ""},
        {"type": "function_call_output", "call_id": "call_1", "output": "4 C"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "sunny"}]},
        {"role": "user", "content": "thanks"},
    ],
    "tools": [WEATHER],
    "tool_choice": {"type": "function", "name": "get_weather"},
    "parallel_tool_calls": False,
    "max_output_tokens": 4000,
    "temperature": 0.5,
    "top_p": 0.9,
    "reasoning": {"effort": "high", "summary": "auto"},
    "metadata": {"ticket": "T-1"},
    "user": "u1",
    "store": False,
    "stream": True,
    "prompt_cache_key": "k1",
    "include": ["reasoning.encrypted_content"],
}


def test_decode_request_reads_every_field() -> None:
    request = codec.decode_request(FULL_REQUEST)
    assert request.model == "gpt-5" and request.system == "Be terse.\n\nUse tools."
    assert request.messages == [
        Message("user", [TextBlock("What is this?"), ImageBlock("image/jpeg", data="/9j/AAAA"), ImageBlock(url="https://example.com/a.png")]),
        Message(
            "assistant",
            [
                ThinkingBlock("Look it up.", "sig-1"),
                TextBlock("Checking."),
                ToolUseBlock("call_1", "get_weather", {"city": "Oslo"}),
                ToolUseBlock("call_2", "get_weather", {}),
            ],
        ),
        Message("user", [ToolResultBlock("call_1", [TextBlock("4 C")]), ToolResultBlock("call_2", [TextBlock("sunny")])]),
        Message("user", [TextBlock("thanks")]),
    ]
    assert request.tools == [Tool("get_weather", "Weather", WEATHER["parameters"], strict=True)], "strict as the client said"
    assert request.tool_choice == ToolChoice("tool", "get_weather", disable_parallel=True)
    assert (request.max_tokens, request.temperature, request.top_p, request.stream) == (4000, 0.5, 0.9, True)
    assert request.thinking == {"type": "enabled", "budget_tokens": 3999}, "the budget counts within max_output_tokens"
    assert request.metadata == {"ticket": "T-1", "user_id": "u1"} and request.prompt_cache_key == "k1"
    assert (request.reasoning_summary, request.include) == ("auto", ["reasoning.encrypted_content"]), "kept for OpenAI"


def test_a_string_input_is_one_user_turn() -> None:
    request = codec.decode_request({"model": "m", "input": "hi"})
    assert request.messages == [Message("user", [TextBlock("hi")])] and request.system is None
    assert request.tool_choice is None and request.thinking is None and request.max_tokens is None


def test_text_items_decode_alike_as_strings_and_as_parts() -> None:
    """A resent history's text items (content a string, with or without ``"type": "message"``) are
    the turns their content parts make; an empty assistant text adds no block."""
    as_strings = [
        {"role": "user", "content": "hi"}, {"type": "message", "role": "assistant", "content": "hello"},
        {"role": "assistant", "content": ""}, {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"}, {"type": "message", "role": "user", "content": "and?"},
    ]  # fmt: skip
    as_parts = [
        {"role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
        {"role": "assistant", "content": []}, as_strings[3], as_strings[4],
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and?"}]},
    ]
    decoded = codec.decode_request({"model": "m", "input": as_strings}).messages
    assert decoded == codec.decode_request({"model": "m", "input": as_parts}).messages
    assert decoded == [
        Message("user", [TextBlock("hi")]), Message("assistant", [TextBlock("hello"), ToolUseBlock("c1", "f", {})]),
        Message("user", [ToolResultBlock("c1", [TextBlock("ok")])]), Message("user", [TextBlock("and?")]),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("reasoning", "max_output_tokens", "thinking"),
    [
        ({"effort": "low"}, None, {"type": "enabled", "budget_tokens": 2048}),
        ({"effort": "high"}, None, {"type": "enabled", "budget_tokens": 16384}),
        ({"effort": "none"}, None, None),
        ({"summary": "auto"}, None, None),
        ({"effort": "medium"}, 900, None),
    ],
)
def test_reasoning_effort_becomes_a_thinking_budget(reasoning: dict, max_output_tokens: int | None, thinking: dict | None) -> None:
    body = {"model": "m", "input": "think", "reasoning": reasoning, "max_output_tokens": max_output_tokens}
    request = codec.decode_request(body)
    assert request.thinking == thinking
    assert request.reasoning_effort == reasoning.get("effort"), "kept for OpenAI, which takes the effort itself"


@pytest.mark.parametrize("effort", get_args(get_args(ReasoningEffort)[0]))
def test_every_effort_of_the_openai_sdk_is_taken(effort: str) -> None:
    request = codec.decode_request({"model": "m", "input": "think", "reasoning": {"effort": effort}})
    assert request.reasoning_effort == effort and (request.thinking is None) == (effort == "none")


def test_envelope_echoes_the_request() -> None:
    envelope = codec.envelope_for(FULL_REQUEST)
    assert envelope.id.startswith("resp_") and envelope.id != codec.envelope_for(FULL_REQUEST).id
    assert envelope.instructions == "Be terse." and envelope.tools == [WEATHER]
    assert envelope.tool_choice == {"type": "function", "name": "get_weather"} and envelope.parallel_tool_calls is False
    assert envelope.reasoning == {"effort": "high", "summary": "auto"} and envelope.store is False
    assert envelope.metadata == {"ticket": "T-1"} and envelope.user == "u1"
    plain = codec.envelope_for({"model": "m", "input": "x"})
    assert plain.tool_choice == "auto" and plain.store is True and plain.parallel_tool_calls is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": "x"}, "model: field required"),
        ({"model": "m"}, "input: field required"),
        ({"model": "m", "input": 3}, "input: must be a string or an array"),
        ({"model": "m", "input": []}, "at least one user"),
        ({"model": "m", "input": [{"role": "system", "content": "x"}]}, "at least one user"),
        ({"model": "m", "input": [{"role": "wizard", "content": "x"}]}, "input[0].role: must be one of user"),
        ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "'item_reference' items are not supported"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}, "input[0].content[0].file_data: field required (Trooper has no file store"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "f"}]}]}, "input[0].content[0].image_url: field required"),
        ({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png,abc"}]}]}, "base64"),
        ({"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{"}]}, "input[0].arguments: must be a JSON object"),
        ({"model": "m", "input": [{"type": "function_call_output", "output": "x"}]}, "input[0].call_id: field required"),
        ({"model": "m", "input": "x", "tool_choice": {"type": "file_search"}}, "tool_choice.type: must be one of function"),
        ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice: must be one of auto, none, required"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "s"}}}, "text.format.schema: field required"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type: must be one of text, json_schema, json_object"),
        ({"model": "m", "input": "x", "text": {"verbosity": "terse"}}, "text.verbosity: must be one of low, medium, high"),
        ({"model": "m", "input": "x", "background": True}, "background: not supported"),
        ({"model": "m", "input": "x", "conversation": "conv_1"}, "previous_response_id"),
        ({"model": "m", "input": "x", "max_output_tokens": 0}, "max_output_tokens: must be at least 1"),
        ({"model": "m", "input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort: must be one of"),
        ({"model": "m", "input": "x", "reasoning": {"summary": "verbose"}}, "reasoning.summary: must be one of"),
        ({"model": "m", "input": "x", "include": ["file_search_call.results", 3]}, "include[1]: must be a string, got an integer"),
    ],
)
def test_decode_request_rejects_bad_input_naming_the_field(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        codec.decode_request(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "input": "x", "metadata": {"n": 1}}, r"metadata\.n: must be a string"),
        ({"model": "m", "input": "x", "previous_response_id": 7}, "previous_response_id: must be a string"),
    ],
)
def test_envelope_rejects_what_it_could_not_echo(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        codec.envelope_for(body)


ENVELOPE = codec.Envelope(id="resp_abc", created_at=1_767_225_600, model="gpt-5", tools=[WEATHER], metadata={"ticket": "T-1"})
ANSWER = Response(
    id="msg_up",
    model="claude-sonnet-4-5",
    content=[
        ThinkingBlock("The user wants weather.", "sig-9"),
        TextBlock("Let me check."),
        ToolUseBlock("toolu_1", "get_weather", {"city": "Zürich"}),
    ],
    stop_reason="tool_use",
    usage=Usage(10, 20, cache_creation_input_tokens=5, cache_read_input_tokens=30, reasoning_tokens=7),
)


def test_encoded_response_passes_sdk_validation() -> None:
    body = codec.encode_response(ANSWER, ENVELOPE)
    response = openai_response(body)
    assert response.id == "resp_abc" and response.status == "completed" and response.model == "claude-sonnet-4-5"
    reasoning, message, call = response.output
    assert reasoning.type == "reasoning" and reasoning.content[0].text == "The user wants weather."
    assert reasoning.encrypted_content == "trooper.signature:sig-9"
    assert message.type == "message" and response.output_text == "Let me check."
    assert call.type == "function_call" and call.call_id == "toolu_1" and json.loads(call.arguments) == {"city": "Zürich"}
    assert [item.id for item in response.output] == ["rs_abc_0", "msg_abc_1", "fc_abc_2"]
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (45, 20, 65)
    assert usage.input_tokens_details.cached_tokens == 30 and usage.input_tokens_details.cache_write_tokens == 5
    assert usage.output_tokens_details.reasoning_tokens == 7
    assert response.tools[0].name == "get_weather" and response.metadata == {"ticket": "T-1"}


def test_an_agent_s_resent_tools_are_echoed_as_the_list_met_before_in_the_same_bytes() -> None:
    request = {"model": "m", "input": "x", "tools": [WEATHER]}
    first, again = (codec.envelope_for(json.loads(json.dumps(request))) for _ in range(2))
    assert again.tools is first.tools, "an agent's tools, resent each turn, are the list met before"
    strict_one = codec.envelope_for({**request, "tools": [{**WEATHER, "strict": 1}]})  # equal to Python, not in JSON
    assert strict_one.tools is not first.tools
    for envelope in (first, strict_one, codec.envelope_for({"model": "m", "input": "x"})):
        body, text = codec.encoded(ANSWER, envelope)
        assert text == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    assert '"strict":1' in codec.encoded(ANSWER, strict_one)[1]


_TEXTS = st.text(max_size=6)
_ECHOES = st.fixed_dictionaries(
    {
        "instructions": st.none() | _TEXTS, "max_output_tokens": st.none() | st.integers(1, 10**6), "parallel_tool_calls": st.booleans(),
        "reasoning": st.none() | st.fixed_dictionaries({"effort": st.none() | st.just("low"), "summary": st.none() | st.just("auto")}),
        "store": st.booleans(), "temperature": st.none() | st.integers(0, 2) | st.floats(0, 2), "top_p": st.none() | st.floats(0, 1),
        "tool_choice": st.just("auto") | st.just("required") | st.fixed_dictionaries({"type": st.just("function"), "name": _TEXTS}),
        "user": st.none() | _TEXTS, "metadata": st.dictionaries(_TEXTS, _TEXTS, max_size=2),
        "previous_response_id": st.none() | _TEXTS, "tools": st.just([]) | st.just([WEATHER]),
    }
)  # fmt: skip


@given(_ECHOES, _TEXTS, st.sampled_from(["end_turn", "max_tokens", "refusal"]))
@settings(deadline=None)  # a loaded machine is slow, not wrong
def test_a_response_s_text_is_its_whole_serialisation_whatever_it_echoes(echo: dict[str, Any], text: str, stop: str) -> None:
    """What a response echoes is written from text made once for each distinct echo (and the
    same echo met again gives the same text): every response object and stream event holds the
    bytes of its whole compact serialisation."""
    for _ in range(2):
        envelope = codec.Envelope(id="resp_abc", created_at=1_767_225_600, model="m", **json.loads(json.dumps(echo)))
        body, sent = codec.encoded(Response("msg_1", "m", [TextBlock(text)], stop), envelope)
        assert sent == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        opening = [MessageStart("msg_1", "m"), BlockStart(0, TextBlock("")), TextDelta(0, text), BlockStop(0)]
        for ending in ([MessageDelta(stop), MessageStop()], [StreamError("api_error", text)]):
            encoder = codec.StreamEncoder(envelope)
            frames = b"".join(encoder.encode(event) for event in opening + ending).decode()
            for number, frame in enumerate(frames.split("\n\n")[:-1]):
                data = frame.split("data: ", 1)[1]
                assert data == json.dumps(json.loads(data), ensure_ascii=False, separators=(",", ":"))
                assert json.loads(data)["sequence_number"] == number
            deltas = [json.loads(frame.split("data: ", 1)[1]) for frame in frames.split("\n\n") if "output_text.delta" in frame]
            assert [{**delta, "sequence_number": 0} for delta in deltas] == [
                {"type": "response.output_text.delta", "sequence_number": 0, "item_id": "msg_abc_0", "output_index": 0,
                 "content_index": 0, "delta": text, "logprobs": []}
            ] * bool(text)  # fmt: skip


def test_a_truncated_answer_is_incomplete_and_so_is_its_last_item() -> None:
    cut = Response("m", "gpt-x", [TextBlock("First."), TextBlock("Second, cut")], stop_reason="max_tokens", usage=Usage(3, 4))
    response = openai_response(codec.encode_response(cut, ENVELOPE))
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert [item.status for item in response.output] == ["completed", "incomplete"]


def test_reasoning_items_come_back_as_the_thinking_they_were() -> None:
    thinking = [ThinkingBlock("why", "sig"), ThinkingBlock("", redacted="opaque==")]
    body = codec.encode_response(Response("m", "claude", [*thinking, TextBlock("ok")]), ENVELOPE)
    request = codec.decode_request({"model": "m", "input": [*body["output"], {"role": "user", "content": "more"}]})
    assert request.messages[0] == Message("assistant", [*thinking, TextBlock("ok")])
    foreign = {"type": "reasoning", "id": "rs_x", "summary": [{"type": "summary_text", "text": "gist"}], "encrypted_content": "gAAAA-openai"}
    request = codec.decode_request({"model": "m", "input": [foreign, {"role": "user", "content": "more"}]})
    assert request.messages[0].content == [ThinkingBlock("gist", summary=True, openai_item=foreign)], (
        "OpenAI's opaque reasoning is kept whole for OpenAI, never sent on as a signature"
    )


def test_errors_have_openai_shape() -> None:
    assert codec.encode_error(404, "not_found_error", "no such response") == {
        "error": {"message": "no such response", "type": "invalid_request_error", "param": None, "code": "not_found"}
    }


# ---------------------------------------------------------------- streaming


def encode_all(events: list) -> bytes:
    encoder = codec.StreamEncoder(ENVELOPE)
    return b"".join(encoder.encode(event) for event in events)


def frames(sse: bytes) -> list[dict]:
    return [json.loads(line[6:]) for line in sse.decode().splitlines() if line.startswith("data: ")]


def test_stream_event_sequence_is_numbered_and_complete() -> None:
    sse = encode_all(response_events(ANSWER))
    payloads = frames(sse)
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert [p["type"] for p in payloads] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert b"event: response.created\ndata: " in sse
    assert payloads[0]["response"]["status"] == "in_progress" and payloads[0]["response"]["output"] == []


def test_every_event_is_its_payload_s_compact_json() -> None:
    """The response objects spliced into events (``response.created``…) are the bytes ``_event`` wrote."""
    failed = [MessageStart("m", "gpt-x"), BlockStart(0, TextBlock("")), TextDelta(0, "Hi"), BlockStop(0), StreamError("api_error", "boom")]
    for events in (response_events(ANSWER), failed):
        for line in encode_all(list(events)).decode().splitlines():
            if line.startswith("data: "):
                assert line[6:] == json.dumps(json.loads(line[6:]), ensure_ascii=False, separators=(",", ":"))


def test_the_sdk_accumulates_the_stream_to_the_non_streaming_response() -> None:
    events, final = openai_response_stream(encode_all(response_events(ANSWER)))
    assert response_fields(final) == response_fields(openai_response(codec.encode_response(ANSWER, ENVELOPE)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Let me check."
    assert next(e for e in events if e.type == "response.output_text.delta").snapshot == "Let me check."


def test_a_reasoning_summary_is_the_item_s_summary_created_streamed_and_resent() -> None:
    summarised = Response("m", "gpt-5", [ThinkingBlock("Search first.", summary=True), TextBlock("Done.")], usage=Usage(3, 4))
    created = openai_response(codec.encode_response(summarised, ENVELOPE))
    reasoning = created.output[0]
    assert [(p.type, p.text) for p in reasoning.summary] == [("summary_text", "Search first.")] and not reasoning.content
    events, final = openai_response_stream(encode_all(response_events(summarised)))
    assert response_fields(final) == response_fields(created)
    kinds = [e.type for e in events]
    assert kinds[2:8] == [
        "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done",
    ]  # fmt: skip
    resent = codec.decode_request({"model": "m", "input": [*codec.encode_response(summarised, ENVELOPE)["output"], {"role": "user", "content": "ok"}]})
    assert resent.messages[0].content == summarised.content


@pytest.mark.parametrize("summary", ["Search first.", ""], ids=["summarised", "unsummarised"])
def test_openai_s_reasoning_item_reaches_the_client_as_it_came_created_and_streamed(summary: str) -> None:
    parts = [{"type": "summary_text", "text": summary}] if summary else []
    item = {"id": "rs_openai_7", "type": "reasoning", "summary": parts, "encrypted_content": "gAAAA-sealed"}
    answer = Response("m", "gpt-5", [ThinkingBlock(summary, summary=True, openai_item=item), TextBlock("Done.")], usage=Usage(3, 4))
    created = openai_response(codec.encode_response(answer, ENVELOPE))
    assert created.output[0].model_dump(exclude_none=True) == item, "OpenAI's id and encrypted_content, verbatim"
    events, final = openai_response_stream(encode_all(response_events(answer)))
    assert response_fields(final) == response_fields(created)
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.id == "rs_openai_7" and added.item.summary == []
    kinds = [e.type for e in events]
    assert ("response.reasoning_summary_part.added" in kinds) == bool(summary), "a summary part opens with its first text"
    assert all(e.item_id == "rs_openai_7" for e in events if e.type.startswith("response.reasoning_summary"))


def test_a_stream_cut_by_max_tokens_ends_incomplete() -> None:
    events = [
        MessageStart("m", "gpt-x"),
        BlockStart(0, TextBlock("")),
        TextDelta(0, "Half an"),
        TextDelta(0, "swer"),
        BlockStop(0),
        MessageDelta("max_tokens", Usage(3, 4)),
        MessageStop(),
    ]
    sdk_events, final = openai_response_stream(encode_all(events))
    assert sdk_events[-1].type == "response.incomplete" and final.incomplete_details.reason == "max_output_tokens"
    done = next(e for e in sdk_events if e.type == "response.output_item.done")
    assert done.item.status == "incomplete" and final.output[0].status == "incomplete" and final.output_text == "Half answer"


def test_a_stream_that_fails_ends_with_response_failed_holding_what_was_finished() -> None:
    events = [
        MessageStart("m", "claude"),
        BlockStart(0, TextBlock("")),
        TextDelta(0, "Done part."),
        BlockStop(0),
        BlockStart(1, TextBlock("")),
        TextDelta(0 + 1, "cut mid"),
        StreamError("overloaded_error", "the answer was cut off and no provider could continue it", 503),
        TextDelta(1, "ignored"),
    ]
    sdk_events, failed = openai_response_stream(encode_all(events))
    assert sdk_events[-1].type == "response.failed"
    assert failed.status == "failed" and failed.error.code == "server_error" and "cut off" in failed.error.message
    assert [item.content[0].text for item in failed.output] == ["Done part."]


def test_an_error_before_anything_still_opens_the_response() -> None:
    payloads = frames(encode_all([StreamError("rate_limit_error", "slow down", 429)]))
    assert [p["type"] for p in payloads] == ["response.created", "response.in_progress", "response.failed"]
    assert payloads[-1]["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}


def test_redacted_thinking_streams_as_an_item_without_text() -> None:
    answer = Response("m", "claude", [ThinkingBlock("", redacted="opaque=="), TextBlock("ok")])
    events, final = openai_response_stream(encode_all(response_events(answer)))
    assert final.output[0].encrypted_content == "trooper.redacted:opaque==" and final.output[0].content is None
    assert not any(e.type.startswith("response.reasoning_text") for e in events)


def test_blocks_left_open_are_closed_and_a_missing_message_delta_is_supplied() -> None:
    events = [
        MessageStart("m", "ollama"),
        BlockStart(0, ToolUseBlock("call_9", "get_weather", {})),
        ToolInputDelta(0, '{"city": '),
        ToolInputDelta(0, '"Lima"}'),
        ThinkingDelta(5, "not a block"),
        MessageStop(),
    ]
    _, final = openai_response_stream(encode_all(events))
    assert final.status == "completed" and json.loads(final.output[0].arguments) == {"city": "Lima"}


# ---------------------------------------------------------------- custom tools


PATCH_GRAMMAR = 'start: "*** Begin Patch" LF hunk+ "*** End Patch" LF?\nhunk: /[^\\n]*/ LF\n%import common.LF'
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Edits files with a patch.",
    "format": {"type": "grammar", "syntax": "lark", "definition": PATCH_GRAMMAR},
}
#: Text a JSON round trip could change: quotes, backslashes, tabs, non-ASCII, a trailing newline.
PATCH = '*** Begin Patch\n*** Update File: a.py\n-print("x")\n+print("ü\\t\\\\n")\t# ✓\n*** End Patch\n'
CUSTOM_ENVELOPE = codec.Envelope(id="resp_ct", created_at=1_767_225_600, model="gpt-5", tools=[WEATHER, APPLY_PATCH])
PATCH_CALL = ToolUseBlock("toolu_p", "apply_patch", {"input": PATCH})


def test_a_custom_tool_is_a_function_taking_one_string_with_its_grammar_in_the_description() -> None:
    request = codec.decode_request({"model": "m", "input": "x", "tools": [WEATHER, APPLY_PATCH], "tool_choice": {"type": "custom", "name": "apply_patch"}})
    weather, patch = request.tools
    assert weather.name == "get_weather" and patch.name == "apply_patch"
    assert patch.input_schema["properties"].keys() == {"input"} and patch.input_schema["properties"]["input"]["type"] == "string"
    assert patch.input_schema["required"] == ["input"]
    assert patch.description.startswith("Edits files with a patch.\n\n") and f"```lark\n{PATCH_GRAMMAR}\n```" in patch.description
    assert request.tool_choice == ToolChoice("tool", "apply_patch")
    text = codec.decode_request({"model": "m", "input": "x", "tools": [{"type": "custom", "name": "note", "description": "Notes.", "format": {"type": "text"}}]})
    assert text.tools[0].description == "Notes.", "free text needs no rule"


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ({"type": "custom", "description": "x"}, "tools[0].name: field required"),
        ({"type": "custom", "name": "p", "format": {"type": "grammar", "syntax": "ebnf", "definition": "x"}}, "tools[0].format.syntax: must be one of lark, regex"),
        ({"type": "custom", "name": "p", "format": {"type": "grammar", "syntax": "regex"}}, "tools[0].format.definition: field required"),
        ({"type": "custom", "name": "get_weather"}, "tools[1].name: 'get_weather' names two tools"),
    ],
)
def test_a_bad_custom_tool_is_refused_naming_the_field(tool: dict, message: str) -> None:
    tools = [tool] if "names two" not in message else [WEATHER, tool]
    with pytest.raises(InvalidRequest, match=message.replace("[", r"\[").replace("]", r"\]")):
        codec.decode_request({"model": "m", "input": "x", "tools": tools})


def test_a_call_of_a_custom_tool_is_a_custom_tool_call_and_comes_back_as_the_same_call() -> None:
    answer = Response("m", "claude", [TextBlock("Patching."), PATCH_CALL, ToolUseBlock("toolu_w", "get_weather", {"city": "Bern"})], stop_reason="tool_use")
    body = codec.encode_response(answer, CUSTOM_ENVELOPE)
    response = openai_response(body)
    _, custom, function = response.output
    assert (custom.type, custom.call_id, custom.name, custom.input, custom.id) == ("custom_tool_call", "toolu_p", "apply_patch", PATCH, "ctc_ct_1")
    assert function.type == "function_call" and json.loads(function.arguments) == {"city": "Bern"}
    outputs = [
        {"type": "custom_tool_call_output", "call_id": "toolu_p", "output": "Done!"},
        {"type": "function_call_output", "call_id": "toolu_w", "output": "sunny"},
    ]
    request = codec.decode_request({"model": "m", "input": [*body["output"], *outputs]})
    assert request.messages == [
        Message("assistant", answer.content),
        Message("user", [ToolResultBlock("toolu_p", [TextBlock("Done!")]), ToolResultBlock("toolu_w", [TextBlock("sunny")])]),
    ]


def test_arguments_a_model_wrote_against_the_schema_reach_the_client_as_their_json() -> None:
    stray = ToolUseBlock("toolu_s", "apply_patch", {"patch": PATCH})
    response = openai_response(codec.encode_response(Response("m", "ollama", [stray]), CUSTOM_ENVELOPE))
    assert json.loads(response.output[0].input) == {"patch": PATCH}


def test_a_streamed_custom_call_has_its_input_events_and_accumulates_to_the_created_response() -> None:
    answer = Response("m", "claude", [PATCH_CALL], stop_reason="tool_use", usage=Usage(3, 4))
    encoder = codec.StreamEncoder(CUSTOM_ENVELOPE)
    sse = b"".join(encoder.encode(event) for event in response_events(answer))
    assert [p["type"] for p in frames(sse)] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed",
    ]
    events, final = openai_response_stream(sse)
    assert "".join(e.delta for e in events if e.type == "response.custom_tool_call_input.delta") == PATCH
    assert next(e for e in events if e.type == "response.custom_tool_call_input.done").input == PATCH
    added = next(e for e in events if e.type == "response.output_item.added")
    assert (added.item.type, added.item.input, added.item.id) == ("custom_tool_call", "", "ctc_ct_0")
    assert response_fields(final) == response_fields(openai_response(codec.encode_response(answer, CUSTOM_ENVELOPE)))


# ---------------------------------------------------------------- OpenAI's built-in tools

SEARCH_ITEM = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "news"}}
CITATION = {"type": "url_citation", "start_index": 0, "end_index": 5, "title": "News", "url": "https://news.example/"}


def test_built_in_tools_their_items_and_a_choice_of_one_are_kept_verbatim() -> None:
    computer_output = {"type": "computer_call_output", "call_id": "cu_1", "output": {"type": "computer_screenshot", "image_url": "https://s.example/1.png"}}
    body = {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "news?"}, SEARCH_ITEM, {"role": "assistant", "content": "Calm."}, computer_output],
        "tools": [WEATHER, {"type": "web_search", "search_context_size": "low"}, {"type": "computer_use_preview", "display_width": 800}],
        "tool_choice": {"type": "web_search"},
    }  # fmt: skip
    request = codec.decode_request(body)
    assert [t.name for t in request.tools] == ["get_weather"] and request.hosted_tools == body["tools"][1:]
    assert request.hosted_tool_choice == {"type": "web_search"} and request.tool_choice is None
    assert [m.content for m in request.messages] == [
        [TextBlock("news?")], [HostedToolBlock(SEARCH_ITEM), TextBlock("Calm.")], [HostedToolBlock(computer_output)],
    ]  # fmt: skip


def test_built_in_tool_items_and_citations_stream_to_the_same_response_the_sdk_validates() -> None:
    answer = Response(id="resp_up", model="gpt-5", content=[HostedToolBlock(SEARCH_ITEM), TextBlock("Calm.", annotations=[CITATION])])
    whole = codec.encode_response(answer, ENVELOPE)
    assert whole["output"][0] == SEARCH_ITEM and whole["output"][1]["content"][0]["annotations"] == [CITATION]
    events = [
        MessageStart("resp_up", "gpt-5"),
        BlockStart(0, HostedToolBlock({**SEARCH_ITEM, "status": "in_progress"})),
        HostedToolProgress(0, "response.web_search_call.searching"),
        HostedToolUpdate(0, SEARCH_ITEM),
        BlockStop(0),
        BlockStart(1, TextBlock("")),
        TextDelta(1, "Calm."),
        TextAnnotation(1, CITATION),
        BlockStop(1),
        MessageDelta("end_turn"),
        MessageStop(),
    ]
    sse = encode_all(events)
    payloads = frames(sse)
    searched = next(p for p in payloads if p["type"] == "response.web_search_call.searching")
    assert searched == {"type": "response.web_search_call.searching", "sequence_number": 3, "item_id": "ws_1", "output_index": 0}
    annotated = next(p for p in payloads if p["type"] == "response.output_text.annotation.added")
    assert (annotated["annotation"], annotated["annotation_index"], annotated["output_index"]) == (CITATION, 0, 1)
    sdk_events, final = openai_response_stream(sse)
    assert response_fields(final) == response_fields(openai_response(whole))
    assert [e.type for e in sdk_events][:5] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.web_search_call.searching", "response.output_item.done",
    ]  # fmt: skip
