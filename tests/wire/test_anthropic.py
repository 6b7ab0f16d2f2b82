import json

import pytest

from tests.wire.sdk import anthropic_beta_stream_message, anthropic_message, anthropic_stream_message
from trooper.conversation import (
    SUMMARY_HEADING,
    BlockStart,
    BlockStop,
    HostedToolBlock,
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
from trooper.wire import anthropic as codec

FULL_REQUEST = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Use tools."}],
    "messages": [
        {"role": "user", "content": "What is in this picture?"},
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/AAAA"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig"},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "cat"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat", "is_error": False},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "boom"}], "is_error": True},
            ],
        },
    ],
    "tools": [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
    "stop_sequences": ["END"],
    "temperature": 0.2,
    "top_k": 5,
    "metadata": {"user_id": "u1"},
    "stream": True,
}


def test_decode_request_reads_every_field() -> None:
    request = codec.decode_request(FULL_REQUEST)
    assert request.system == "You are terse.\n\nUse tools."
    assert request.max_tokens == 1024 and request.stream and request.temperature == 0.2 and request.top_k == 5
    assert request.stop == ["END"] and request.metadata == {"user_id": "u1"}
    assert request.tool_choice == ToolChoice("auto", None, True)
    assert request.tools[0].name == "lookup" and request.tools[0].input_schema["properties"]["q"] == {"type": "string"}
    assert request.messages[0] == Message("user", [TextBlock("What is in this picture?")])
    assert request.messages[1].content == [ImageBlock("image/jpeg", "/9j/AAAA"), ImageBlock(url="https://example.com/a.png")]
    assert request.messages[2].content == [
        ThinkingBlock("Let me look.", "sig"),
        TextBlock("Checking."),
        ToolUseBlock("toolu_1", "lookup", {"q": "cat"}),
    ]
    assert request.messages[3].content == [
        ToolResultBlock("toolu_1", [TextBlock("a cat")]),
        ToolResultBlock("toolu_2", [TextBlock("boom")], is_error=True),
    ]


def test_request_survives_encode_then_decode() -> None:
    request = codec.decode_request(FULL_REQUEST)
    body = codec.encode_request(request, "claude-haiku-4-5", stream=True)
    assert body["model"] == "claude-haiku-4-5" and body["stream"] is True
    again = codec.decode_request(body)
    assert again.messages == request.messages
    assert again.system == request.system and again.tools == request.tools and again.tool_choice == request.tool_choice
    assert again.stop == request.stop and again.metadata == {"user_id": "u1"}


def test_encode_request_fills_what_anthropic_requires_and_drops_what_it_rejects() -> None:
    request = Request(
        model="gpt-4o",
        messages=[
            Message("user", [TextBlock("hi"), TextBlock("")]),
            Message("assistant", [ThinkingBlock("unsigned local thought"), TextBlock("")]),
            Message("assistant", [TextBlock("ok")]),
        ],
        temperature=0.5,
        top_p=0.9,
        tools=[],
        tool_choice=ToolChoice("any"),
        metadata={"session": "x"},
    )
    body = codec.encode_request(request, "claude-haiku-4-5", stream=False)
    assert body["max_tokens"] == codec.DEFAULT_MAX_TOKENS
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
    ]
    assert body["temperature"] == 0.5 and "top_p" not in body
    assert "tool_choice" not in body and "metadata" not in body


def test_a_default_max_tokens_leaves_room_for_the_thinking_budget() -> None:
    thinking = {"type": "enabled", "budget_tokens": 8192}
    request = Request(model="gpt-5", messages=[Message("user", [TextBlock("think")])], thinking=thinking)
    body = codec.encode_request(request, "claude-sonnet-4-5", stream=False)
    assert body["thinking"] == thinking and body["max_tokens"] == codec.DEFAULT_MAX_TOKENS + 8192
    request.max_tokens = 9000
    assert codec.encode_request(request, "claude-sonnet-4-5", stream=False)["max_tokens"] == 9000, "the client's own limit is kept"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_tokens": 5, "messages": []}, "model: field required"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens: field required"),
        ({"model": "m", "max_tokens": 5}, "messages: field required"),
        ({"model": "m", "max_tokens": 5, "messages": []}, "at least one message"),
        ({"model": "m", "max_tokens": "5", "messages": []}, "max_tokens: must be an integer, got a string"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, 'messages[0].role: role "system" in messages is not supported by Trooper'),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 3}]}, "messages[0].content: must be a string or an array"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type: 'video' is not a supported"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]}, "'tool_use' is not allowed in a user message"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages[0].content[0].text: field required"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]}, "messages[0].content[0].source.type: must be one of base64, url"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "system": 4}, "system: must be a string or an array"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": {"type": "tool"}}, "tool_choice.name: field required"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": [{"name": "t"}]}, "tools[0].input_schema: field required"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web_search_20250305"}]}, "tools[0].name: field required"),
        ({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream: must be a boolean"),
    ],
)
def test_decode_request_rejects_bad_input_naming_the_field(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_request(body)
    assert message in caught.value.message
    assert caught.value.status == 400


RESPONSE = Response(
    id="msg_1",
    model="claude-haiku-4-5",
    content=[ThinkingBlock("hmm", "sig"), TextBlock("Let me check."), ToolUseBlock("toolu_1", "lookup", {"q": ["a", 1, None]})],
    stop_reason="tool_use",
    usage=Usage(10, 20),
)


def test_encoded_response_passes_sdk_validation_and_round_trips() -> None:
    body = codec.encode_response(RESPONSE)
    message = anthropic_message(body)
    assert message.stop_reason == "tool_use" and message.usage.output_tokens == 20
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert codec.decode_response(body) == RESPONSE


@pytest.mark.parametrize(
    ("wire", "canonical"),
    [("end_turn", "end_turn"), ("max_tokens", "max_tokens"), ("stop_sequence", "stop_sequence"), ("refusal", "refusal"),
     ("pause_turn", "pause_turn"), ("compaction", "compaction"), ("model_context_window_exceeded", "max_tokens"), ("tool_use", "end_turn")],
)
def test_decode_response_maps_stop_reasons(wire: str, canonical: str) -> None:
    body = {"id": "m", "model": "c", "content": [{"type": "text", "text": "x"}], "stop_reason": wire, "usage": {"input_tokens": 1, "output_tokens": 2}}
    assert codec.decode_response(body).stop_reason == canonical


def test_encode_response_derives_the_stop_reason_from_the_content() -> None:
    lying = Response("m", "c", [ToolUseBlock("t", "n", {})], stop_reason="end_turn")
    assert codec.encode_response(lying)["stop_reason"] == "tool_use"
    assert codec.encode_response(Response("m", "c", [TextBlock("x")], stop_reason="error"))["stop_reason"] == "end_turn"


def test_decode_response_keeps_server_blocks_and_citations_skips_unknown_ones_and_rejects_a_missing_content() -> None:
    server_tool = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}}
    cited = {"type": "text", "text": "hi", "citations": [CITATION]}
    body = {"id": "m", "model": "c", "content": [server_tool, SEARCH_RESULT, cited, {"type": "a_future_block"}], "stop_reason": "end_turn"}
    response = codec.decode_response(body)
    assert response.content == [
        HostedToolBlock(server_tool, host="anthropic"), HostedToolBlock(SEARCH_RESULT, host="anthropic"), TextBlock("hi", citations=[CITATION]),
    ]
    assert codec.encode_response(response)["content"] == [server_tool, SEARCH_RESULT, cited]  # as Claude gave them
    with pytest.raises(WireError):
        codec.decode_response({"id": "m"})


def test_error_bodies_both_ways() -> None:
    body = codec.encode_error(429, "rate_limit_error", "slow down")
    assert body == {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    assert codec.decode_error(429, json.dumps(body).encode()) == ("rate_limit_error", "slow down")
    assert codec.decode_error(502, b"<html>Bad Gateway</html>") == ("api_error", "<html>Bad Gateway</html>")
    assert codec.decode_error(529, b"") == ("overloaded_error", "HTTP 529 with an empty body")


# ---------------------------------------------------------------- streaming

CITATION = {
    "type": "web_search_result_location", "url": "https://example.org/a", "title": "A", "encrypted_index": "Eo8BCioIAhgB", "cited_text": "a",
}
SEARCH_RESULT = {
    "type": "web_search_tool_result", "tool_use_id": "srv",
    "content": [{"type": "web_search_result", "url": "https://example.org/a", "title": "A", "encrypted_content": "EqgfCioIARgB", "page_age": None}],
}

UPSTREAM_SSE = b"".join(
    f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
    for name, data in [
        ("message_start", {"type": "message_start", "message": {"id": "msg_9", "type": "message", "role": "assistant", "content": [], "model": "claude-x", "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}}),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "ponder"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "s"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"query\": \"x\"}"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": SEARCH_RESULT}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        ("content_block_start", {"type": "content_block_start", "index": 3, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 3, "delta": {"type": "text_delta", "text": "Héllo"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 3, "delta": {"type": "citations_delta", "citation": CITATION}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 3}),
        ("content_block_start", {"type": "content_block_start", "index": 4, "content_block": {"type": "a_future_block"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 4}),
        ("content_block_start", {"type": "content_block_start", "index": 5, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 5, "delta": {"type": "input_json_delta", "partial_json": "ris\"}"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 5}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 30}}),
        ("message_stop", {"type": "message_stop"}),
    ]
)


def test_stream_decoder_maps_events_keeps_server_blocks_and_renumbers_skipped_blocks() -> None:
    decoder = codec.StreamDecoder()
    events = [e for i in range(len(UPSTREAM_SSE)) for e in decoder.feed(UPSTREAM_SSE[i : i + 1])] + decoder.finish()
    assert events[0] == MessageStart("msg_9", "claude-x", Usage(12, 1))
    assert [type(e).__name__ for e in events[1:]] == [
        "BlockStart", "ThinkingDelta", "BlockStop",
        "BlockStart", "ToolInputDelta", "BlockStop",
        "BlockStart", "BlockStop",
        "BlockStart", "TextDelta", "TextCitation", "BlockStop",
        "BlockStart", "ToolInputDelta", "ToolInputDelta", "BlockStop",
        "MessageDelta", "MessageStop",
    ]
    assert events[4] == BlockStart(1, HostedToolBlock({"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {}}, host="anthropic"))
    assert events[13] == BlockStart(4, ToolUseBlock("toolu_1", "get", {}))  # the unknown block left no gap
    assert events[-2] == MessageDelta("tool_use", Usage(12, 30))
    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    assert accumulator.response().content == [
        ThinkingBlock("ponder", "s"),
        HostedToolBlock({"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {"query": "x"}}, host="anthropic"),
        HostedToolBlock(SEARCH_RESULT, host="anthropic"),
        TextBlock("Héllo", citations=[CITATION]),
        ToolUseBlock("toolu_1", "get", {"city": "Paris"}),
    ]


def test_server_blocks_stream_to_the_client_as_claude_sent_them() -> None:
    # Claude Code's WebSearch: the SDK rebuilds the server tool's input, its results and the citations.
    decoder = codec.StreamDecoder()
    message = anthropic_stream_message(_encode(decoder.feed(UPSTREAM_SSE) + decoder.finish()))
    kinds = [block.type for block in message.content]
    assert kinds == ["thinking", "server_tool_use", "web_search_tool_result", "text", "tool_use"]
    assert message.content[1].input == {"query": "x"}
    assert message.content[2].model_dump(exclude_none=True)["content"][0]["encrypted_content"] == "EqgfCioIARgB"
    assert message.content[3].citations[0].encrypted_index == "Eo8BCioIAhgB"


def test_a_streamed_thinking_signature_reaches_the_client() -> None:
    # Claude Code resends its thinking blocks; without their signature Anthropic rejects the turn.
    decoder = codec.StreamDecoder()
    events = decoder.feed(UPSTREAM_SSE) + decoder.finish()
    message = anthropic_stream_message(_encode(events))
    assert message.content[0].type == "thinking" and message.content[0].signature == "s"


def test_stream_decoder_raises_on_error_event_missing_stop_and_bad_json() -> None:
    decoder = codec.StreamDecoder()
    with pytest.raises(UpstreamStreamError) as caught:
        decoder.feed(b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
    assert (caught.value.error_type, caught.value.message) == ("overloaded_error", "Overloaded")
    truncated = codec.StreamDecoder()
    truncated.feed(UPSTREAM_SSE[: UPSTREAM_SSE.index(b"event: message_delta")])
    with pytest.raises(WireError, match="without message_stop"):
        truncated.finish()
    with pytest.raises(WireError, match="not JSON"):
        codec.StreamDecoder().feed(b"event: message_start\ndata: {oops\n\n")
    with pytest.raises(WireError, match="malformed"):
        codec.StreamDecoder().feed(b'data: {"type":"content_block_delta","index":0}\n\n')


def _encode(events: list, encoder: codec.StreamEncoder | None = None) -> bytes:
    encoder = encoder or codec.StreamEncoder("fallback-model")
    return b"".join(encoder.encode(e) for e in events)


def test_stream_encoder_output_is_accumulated_by_the_sdk() -> None:
    message = anthropic_stream_message(_encode(response_events(RESPONSE)))
    assert message.id == "msg_1" and message.model == "claude-haiku-4-5"
    assert message.stop_reason == "tool_use"
    assert message.content[0].type == "thinking" and message.content[0].signature == "sig"
    assert message.content[1].text == "Let me check."
    assert message.content[2].input == {"q": ["a", 1, None]}
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 20)


def test_stream_encoder_derives_stop_reason_and_repairs_structure() -> None:
    events = [
        MessageStart("msg_2", ""),
        BlockStart(0, ToolUseBlock("toolu_9", "get", {})),
        ToolInputDelta(0, "{}"),
        # no BlockStop, and the upstream claims a normal end of turn
        MessageDelta("end_turn", Usage(0, 3)),
        MessageStop(),
        TextDelta(0, "after the end is ignored"),
    ]
    message = anthropic_stream_message(_encode(events))
    assert message.model == "fallback-model" and message.stop_reason == "tool_use"
    assert message.content[0].input == {}


def test_stream_encoder_reports_a_tool_use_claim_without_tools_as_end_turn() -> None:
    events = [MessageStart("m", "x"), BlockStart(0, TextBlock("")), TextDelta(0, "hi"), BlockStop(0), MessageDelta("tool_use"), MessageStop()]
    assert anthropic_stream_message(_encode(events)).stop_reason == "end_turn"


def test_stream_error_becomes_an_error_event_the_sdk_raises() -> None:
    import anthropic

    events = [MessageStart("m", "x"), BlockStart(0, TextBlock("")), TextDelta(0, "par"), StreamError("overloaded_error", "upstream gone", 529)]
    raw = _encode(events)
    assert raw.endswith(b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"upstream gone"}}\n\n')
    with pytest.raises(anthropic.APIStatusError, match="upstream gone"):
        anthropic_stream_message(raw)


def test_server_tools_and_their_blocks_reach_claude_verbatim_and_in_place() -> None:
    # Claude Code's WebSearch request, then its history resent: Claude must get both back as they were.
    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8, "allowed_domains": ["example.org"]}
    server_use = {"type": "server_tool_use", "id": "srv", "name": "web_search", "input": {"query": "x"}}
    body = {
        "model": "claude-sonnet-4-5", "max_tokens": 512,
        "tools": [{"name": "get", "description": "", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}}, web_search],
        "messages": [
            {"role": "user", "content": "search x"},
            {"role": "assistant", "content": [server_use, SEARCH_RESULT, {"type": "text", "text": "found", "citations": [CITATION]}]},
            {"role": "user", "content": "more"},
        ],
    }
    request = codec.decode_request(body)
    assert request.hosted_tools == [web_search] and request.tools_host == "anthropic"
    assert request.messages[1].content[:2] == [HostedToolBlock(server_use, host="anthropic"), HostedToolBlock(SEARCH_RESULT, host="anthropic")]
    encoded = codec.encode_request(request, "claude-sonnet-4-5", stream=False)
    assert encoded["tools"] == body["tools"]
    assert encoded["messages"][1] == body["messages"][1]
    # Another upstream gets the conversation without Claude's own blocks, the text around them kept.
    bare = request.without_hosted_items()
    assert bare.messages[1].content == [TextBlock("found", citations=[CITATION])]
    # A server block only Claude writes is refused in a user message, as Claude would.
    with pytest.raises(InvalidRequest, match="not a supported content block type"):
        codec.decode_request({**body, "messages": [{"role": "user", "content": [server_use]}]})


# ---------------------------------------------------------------- Claude's compaction

COMPACTION = {"type": "compaction", "content": "Summary: the build fails on a missing header.", "encrypted_content": None}


def _claude_sse(*frames: tuple[str, dict]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in frames)


COMPACTION_SSE = _claude_sse(
    ("message_start", {"type": "message_start", "message": {"id": "msg_c", "type": "message", "role": "assistant", "content": [], "model": "claude-x", "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "compaction", "content": None}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "compaction_delta", "content": COMPACTION["content"], "encrypted_content": None}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "compaction", "stop_sequence": None}, "usage": {"output_tokens": 12}}),
    ("message_stop", {"type": "message_stop"}),
)  # fmt: skip


def test_a_compaction_streams_as_claude_sent_it_and_a_created_one_streams_as_claude_would_send_it() -> None:
    decoder = codec.StreamDecoder()
    events = [e for i in range(len(COMPACTION_SSE)) for e in decoder.feed(COMPACTION_SSE[i : i + 1])] + decoder.finish()
    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    response = accumulator.response()
    assert response.content == [HostedToolBlock(COMPACTION, host="anthropic")] and response.stop_reason == "compaction"
    for sse in (_encode(events), _encode(response_events(response))):  # streamed through; created, then streamed
        message = anthropic_beta_stream_message(sse)
        assert message.stop_reason == "compaction"
        assert [block.model_dump() for block in message.content] == [{**COMPACTION, "signature": None, "tool_changes": None}]
    created = codec.decode_response({"id": "m", "model": "c", "content": [COMPACTION], "stop_reason": "compaction"})
    assert codec.encode_response(created)["content"] == [COMPACTION] and created.stop_reason == "compaction"


def test_a_resent_compaction_reaches_claude_in_place_and_stands_for_all_before_it_elsewhere() -> None:
    failed = {"type": "compaction", "content": None}
    messages = [
        {"role": "user", "content": "a long first step"},
        {"role": "assistant", "content": [failed, {"type": "text", "text": "first answer"}]},
        {"role": "user", "content": "second step"},
        {"role": "assistant", "content": [COMPACTION, {"type": "text", "text": "Add the include."}]},
        {"role": "user", "content": "which header?"},
    ]
    request = codec.decode_request({"model": "claude-x", "max_tokens": 64, "messages": messages})
    assert [m["content"][0] for m in codec.encode_request(request, "claude-x", stream=False)["messages"][1::2]] == [failed, COMPACTION]
    summary = TextBlock(f"{SUMMARY_HEADING}\n{COMPACTION['content']}")
    assert request.without_hosted_items().messages == [
        Message("user", [summary]), Message("assistant", [TextBlock("Add the include.")]), Message("user", [TextBlock("which header?")]),
    ]
    # A paused compaction's summary opens the next user turn; one that failed is nothing, as for Claude.
    paused = codec.decode_request({"model": "claude-x", "max_tokens": 64, "messages": [*messages[:2], {"role": "assistant", "content": [COMPACTION]}, messages[4]]})
    assert paused.without_hosted_items().messages == [Message("user", [summary, TextBlock("which header?")])]
    only_failed = codec.decode_request({"model": "claude-x", "max_tokens": 64, "messages": messages[:3]})
    assert only_failed.without_hosted_items().messages == [
        Message("user", [TextBlock("a long first step")]), Message("assistant", [TextBlock("first answer")]), Message("user", [TextBlock("second step")]),
    ]
    with pytest.raises(InvalidRequest, match="content: must be a string"):
        codec.decode_request({"model": "claude-x", "max_tokens": 64, "messages": [messages[0], {"role": "assistant", "content": [{"type": "compaction", "content": 3}]}]})
