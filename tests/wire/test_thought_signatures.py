"""Gemini's thought signatures on tool calls (``extra_content.google.thought_signature``) through
the OpenAI codec: kept on the canonical tool call, shown to OpenAI callers (whose SDK reads them),
sent back only to an upstream that asks for them, and replaced by Google's bypass value on the
first call of a turn that another model made."""

from __future__ import annotations

import json

from tests.wire.sdk import openai_completion, openai_stream_completion
from tests.wire.streams import accumulate, decode_in_steps
from trooper.conversation import Message, Request, Response, TextBlock, ToolResultBlock, ToolUseBlock, Usage, response_events
from trooper.wire import openai

SIGNATURE = "CiQBjz1rX2Vz+signature/=="


def signed(call: dict, signature: str = SIGNATURE) -> dict:
    return {**call, "extra_content": {"google": {"thought_signature": signature}}}


CALL = {"id": "function-call-1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
SECOND_CALL = {"id": "function-call-2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}


def gemini_answer(*calls: dict) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gemini-3-flash-preview",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": list(calls)}, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
    }


def history(*calls: ToolUseBlock) -> Request:
    return Request(
        model="gemini-3-flash-preview",
        messages=[
            Message("user", [TextBlock("weather and time in Paris?")]),
            Message("assistant", list(calls)),
            Message("user", [ToolResultBlock(c.id, [TextBlock("ok")]) for c in calls]),
        ],
    )


def sent_calls(body: dict) -> list[dict]:
    return next(m for m in body["messages"] if m["role"] == "assistant")["tool_calls"]


def test_a_signed_call_in_an_answer_keeps_its_signature_and_an_unsigned_one_has_none():
    response = openai.decode_response(gemini_answer(signed(CALL), SECOND_CALL))
    assert [b.signature for b in response.content] == [SIGNATURE, None]  # type: ignore[union-attr]


def test_a_streamed_signed_call_keeps_its_signature():
    chunks = [
        {"id": "c", "model": "gemini-3-flash-preview", "choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [{"index": 0, **signed(CALL)}]}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    raw = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"
    for step in (1, 7, len(raw)):
        [call] = accumulate(decode_in_steps(openai, raw, step)).content
        assert isinstance(call, ToolUseBlock) and call.signature == SIGNATURE and call.input == {"city": "Paris"}


def test_gemini_gets_its_signatures_back_and_the_bypass_on_a_turn_another_model_made():
    ours = ToolUseBlock("function-call-1", "get_weather", {"city": "Paris"}, signature=SIGNATURE)
    body = openai.encode_request(history(ours, ToolUseBlock("function-call-2", "get_time")), "gemini-3-flash-preview", stream=False, tool_call_signatures=True)
    first, second = sent_calls(body)
    assert first["extra_content"] == {"google": {"thought_signature": SIGNATURE}} and "extra_content" not in second

    claudes = ToolUseBlock("toolu_01", "get_weather", {"city": "Paris"})  # made by Claude before a fallback
    body = openai.encode_request(history(claudes), "gemini-3-flash-preview", stream=True, tool_call_signatures=True)
    assert sent_calls(body)[0]["extra_content"] == {"google": {"thought_signature": openai.SIGNATURE_BYPASS}}


def test_other_upstreams_never_get_signatures():
    signed_call = ToolUseBlock("function-call-1", "get_weather", {"city": "Paris"}, signature=SIGNATURE)
    body = openai.encode_request(history(signed_call), "gpt-4o-mini", stream=False)
    assert "extra_content" not in sent_calls(body)[0]


def test_openai_callers_see_the_signature_and_send_it_back():
    call = ToolUseBlock("function-call-1", "get_weather", {"city": "Paris"}, signature=SIGNATURE)
    response = Response(id="chatcmpl-1", model="gemini-3-flash-preview", content=[call], stop_reason="tool_use", usage=Usage(5, 3))

    completion = openai_completion(openai.encode_response(response))
    assert completion.choices[0].message.tool_calls[0].model_extra["extra_content"]["google"]["thought_signature"] == SIGNATURE
    streamed = openai_stream_completion(b"".join(openai.StreamEncoder("gemini-3-flash-preview").encode(e) for e in response_events(response)))
    assert streamed.choices[0].message.tool_calls[0].model_extra["extra_content"]["google"]["thought_signature"] == SIGNATURE

    resent = {"model": "gemini-3-flash-preview", "messages": [
        {"role": "user", "content": "weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [signed(CALL)]},
        {"role": "tool", "tool_call_id": "function-call-1", "content": "sunny"},
    ]}  # fmt: skip
    assert openai.decode_request(resent).messages[1].content[0].signature == SIGNATURE  # type: ignore[union-attr]
