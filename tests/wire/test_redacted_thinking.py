"""Claude's ``redacted_thinking`` blocks: encrypted reasoning that must go back to Claude unchanged.

They survive every path an Anthropic client's turn takes through Trooper — its request, a
response, a stream (through the SDK's own accumulator) and the store's dicts — and never reach
another provider, which could not read them."""

from __future__ import annotations

import json

from tests.wire.sdk import anthropic_message, anthropic_stream_message
from tests.wire.streams import accumulate, decode_in_steps
from trooper.conversation import (
    Message,
    Response,
    TextBlock,
    ThinkingBlock,
    Usage,
    block_from_dict,
    block_to_dict,
    response_events,
)
from trooper.wire import anthropic, ollama, openai

DATA = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
REDACTED = {"type": "redacted_thinking", "data": DATA}
SIGNED = {"type": "thinking", "thinking": "Let me check.", "signature": "sig-1"}


def claude_answer(*content: dict) -> dict:
    return {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": list(content),
        "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 4},
    }


def test_a_resent_redacted_block_goes_back_to_claude_unchanged_and_to_no_one_else():
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [
        {"role": "user", "content": "hard question"},
        {"role": "assistant", "content": [REDACTED, SIGNED, {"type": "text", "text": "Answer."}]},
        {"role": "user", "content": "and then?"},
    ]}  # fmt: skip
    request = anthropic.decode_request(body)
    assert request.messages[1].content[0] == ThinkingBlock("", redacted=DATA)

    to_claude = anthropic.encode_request(request, "claude-sonnet-4-5", stream=False)
    assert to_claude["messages"][1]["content"] == [REDACTED, SIGNED, {"type": "text", "text": "Answer."}]
    to_openai = json.dumps(openai.encode_request(request, "gpt-4o-mini", stream=False))
    to_ollama = json.dumps(ollama.encode_request(request, "llama3.1:8b", stream=False))
    assert DATA not in to_openai and DATA not in to_ollama


def test_a_redacted_block_in_an_answer_reaches_the_client_whole():
    response = anthropic.decode_response(claude_answer(REDACTED, {"type": "text", "text": "Done."}))
    assert response.content == [ThinkingBlock("", redacted=DATA), TextBlock("Done.")]
    message = anthropic_message(anthropic.encode_response(response))
    assert message.content[0].type == "redacted_thinking" and message.content[0].data == DATA


def test_a_streamed_redacted_block_survives_decoding_and_the_sdk_accumulator():
    events = [
        ("message_start", {"type": "message_start", "message": {**claude_answer(), "stop_reason": None}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": REDACTED}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Done."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    raw = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()
    for step in (1, 13, len(raw)):
        assert accumulate(decode_in_steps(anthropic, raw, step)).content == [ThinkingBlock("", redacted=DATA), TextBlock("Done.")]

    response = Response("msg_1", "claude-sonnet-4-5", [ThinkingBlock("", redacted=DATA), TextBlock("Done.")], "end_turn", usage=Usage(9, 4))
    encoder = anthropic.StreamEncoder("claude-sonnet-4-5")
    message = anthropic_stream_message(b"".join(encoder.encode(e) for e in response_events(response)))
    assert [(b.type, getattr(b, "data", None)) for b in message.content] == [("redacted_thinking", DATA), ("text", None)]


def test_the_store_keeps_redacted_data_and_shows_optional_fields_only_when_set():
    assert block_to_dict(ThinkingBlock("", redacted=DATA)) == {"type": "thinking", "thinking": "", "signature": None, "redacted": DATA}
    assert block_to_dict(ThinkingBlock("hm", "sig")) == {"type": "thinking", "thinking": "hm", "signature": "sig"}
    assert block_from_dict(block_to_dict(ThinkingBlock("", redacted=DATA))) == ThinkingBlock("", redacted=DATA)
    assert Message("assistant", [ThinkingBlock("", redacted=DATA)]).text() == ""
