"""OpenAI's Responses API as an upstream (``trooper/wire/openai_responses.py``): the request
Trooper sends for a turn with built-in tools, and the answers it reads, whole and streamed (the
fake's frames, split anywhere, accumulate to the same answer as its non-streaming body)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.behaviours import reply_text, reply_tool_calls, tool_call
from tests.fakes.openai_responses import ENCRYPTED_REASONING, ResponsesAnswer
from tests.fakes.recording import RecordedRequest
from trooper.conversation import (
    HostedToolBlock,
    ImageBlock,
    Message,
    Request,
    StreamAccumulator,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
)
from trooper.wire import openai_responses as codec
from trooper.wire import responses
from trooper.wire.errors import UnterminatedStream, UpstreamStreamError

SEARCH_ITEM = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "q"}}
CITATION = {"type": "url_citation", "start_index": 0, "end_index": 4, "title": "T", "url": "https://a.example"}
SEALED = {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "gist"}], "encrypted_content": "gAAAA-1"}


def test_the_request_carries_the_conversation_as_items_and_the_built_in_tools_verbatim() -> None:
    request = Request(
        model="gpt-5",
        system="Be terse.",
        messages=[
            Message("user", [TextBlock("look"), ImageBlock(url="https://img.example/a.png")]),
            Message("assistant", [HostedToolBlock(SEARCH_ITEM), ThinkingBlock("mine", "sig"),
                                  ThinkingBlock("gist", summary=True, openai_item=SEALED), TextBlock("Done", annotations=[CITATION]),
                                  ThinkingBlock("gist", summary=True, openai_item={"id": "rs_2", "type": "reasoning", "summary": []}),
                                  ToolUseBlock("call_1", "get_weather", {"city": "Paris"})]),
            Message("user", [ToolResultBlock("call_1", [TextBlock("sunny")]), TextBlock("and now?")]),
        ],
        tools=[Tool("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})],
        tool_choice=ToolChoice("auto", disable_parallel=True),
        hosted_tools=[{"type": "web_search", "search_context_size": "low"}],
        hosted_tool_choice={"type": "web_search"},
        max_tokens=500,
        reasoning_effort="low",
        reasoning_summary="auto",
        include=["web_search_call.action.sources", "reasoning.encrypted_content"],
        prompt_cache_key="k",
    )  # fmt: skip
    body = codec.encode_request(request, "gpt-5", stream=True)
    assert body["instructions"] == "Be terse." and body["model"] == "gpt-5" and body["stream"] is True and body["store"] is False
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "look"}, {"type": "input_image", "image_url": "https://img.example/a.png", "detail": "auto"}]},
        SEARCH_ITEM,
        SEALED,
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Done", "annotations": [CITATION]}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and now?"}]},
    ], "OpenAI's reasoning with its encrypted_content goes back in place; other thinking is left out"
    assert body["tools"] == [
        {"type": "function", "name": "get_weather", "description": "Weather", "parameters": request.tools[0].input_schema, "strict": False},
        {"type": "web_search", "search_context_size": "low"},
    ]
    assert body["tool_choice"] == {"type": "web_search"} and body["parallel_tool_calls"] is False
    assert (body["max_output_tokens"], body["reasoning"], body["prompt_cache_key"]) == (500, {"effort": "low", "summary": "auto"}, "k")
    assert body["include"] == ["web_search_call.action.sources", "reasoning.encrypted_content"]
    plain = codec.encode_request(request, "gpt-4o-mini", stream=False)
    assert "reasoning" not in plain, "a model that does not reason refuses it"
    assert SEALED not in plain["input"], "and reasoning items"
    assert plain["include"] == ["web_search_call.action.sources"], "and what reasoning would include"
    summary_only = codec.encode_request(Request(model="gpt-5", messages=[], reasoning_summary="detailed"), "gpt-5", stream=False)
    assert summary_only["reasoning"] == {"summary": "detailed"} and "include" not in summary_only


def test_a_tool_s_strict_goes_as_its_client_said_else_false() -> None:
    # False for a tool whose client said nothing: Chat Completions' and Claude's default, not the Responses API's.
    said = [Tool("a", strict=True), Tool("b", strict=False), Tool("c")]
    body = codec.encode_request(Request(model="gpt-5", messages=[], tools=said), "gpt-5", stream=False)
    assert [tool["strict"] for tool in body["tools"]] == [True, False, False]


PATCH = '*** Begin Patch\n*** Update File: "é.py"\n+print("a\\tb")\n*** End Patch'


def test_a_custom_tool_and_its_calls_go_as_custom_items() -> None:
    patch_tool = {"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}
    history = [
        {"type": "message", "role": "user", "content": "Fix it."},
        {"type": "custom_tool_call", "call_id": "call_1", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "call_1", "output": "Done."},
    ]
    request = responses.decode_request({"model": "gpt-5-codex", "input": history, "tools": [patch_tool], "tool_choice": {"type": "custom", "name": "apply_patch"}})
    body = codec.encode_request(request, "gpt-5-codex", stream=False)
    assert body["tools"] == [patch_tool] and body["tool_choice"] == {"type": "custom", "name": "apply_patch"}
    assert body["input"][1:] == history[1:]


def _request(tools: list[dict], **fields: Any) -> RecordedRequest:
    body = {
        "model": "gpt-5", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "news"}]}],
        "tools": tools, "reasoning": {"summary": "auto"}, **fields,
    }  # fmt: skip
    return RecordedRequest("POST", "/v1/responses", "", {}, json.dumps(body).encode(), body, 0.0)


ANSWERS = {
    "search": (reply_text("News today.", chunks=["News ", "today."], thinking="Look it up."), [{"type": "web_search"}]),
    "calls": (reply_tool_calls(tool_call("get_weather", {"city": "Paris"}), tool_call("get_time", {"zone": "CET"})), [{"type": "web_search"}]),
    "truncated": (reply_text("Cut", stop_reason="max_tokens"), []),
    "sealed": (reply_text("Hi.", thinking="Greet."), [], {"include": [ENCRYPTED_REASONING]}),
    "sealed-unsummarised": (reply_text("Hi.", thinking="Greet."), [], {"include": [ENCRYPTED_REASONING], "reasoning": None}),
    # A custom tool's input, streamed in pieces, made the JSON of its function's arguments piece by piece.
    "custom": (reply_tool_calls(tool_call("apply_patch", {"input": PATCH})), [{"type": "custom", "name": "apply_patch"}]),
}


@pytest.mark.parametrize("name", ANSWERS)
@pytest.mark.parametrize("piece", [1, 7, 10_000])
def test_the_stream_accumulates_to_the_answer_of_the_whole_body(name: str, piece: int) -> None:
    reply, tools, *fields = ANSWERS[name]
    answer = ResponsesAnswer(reply, _request(tools, **(fields[0] if fields else {})), set(), {})
    whole = codec.decode_response(answer.complete_body())
    data = b"".join(frame.data for frame in answer.frames())
    decoder, accumulated = codec.StreamDecoder(), StreamAccumulator()
    for start in range(0, len(data), piece):
        for event in decoder.feed(data[start : start + piece]):
            accumulated.add(event)
    for event in decoder.finish():
        accumulated.add(event)
    streamed = accumulated.response()
    assert (streamed.id, streamed.model, streamed.content, streamed.stop_reason, streamed.usage) == (
        whole.id, whole.model, whole.content, whole.stop_reason, whole.usage,
    )  # fmt: skip
    if name.startswith("sealed"):
        assert streamed.content[0] == ThinkingBlock(answer.reply.thinking if name == "sealed" else "", summary=True, openai_item=answer.items[0]), (
            "the item as done: its encrypted_content is whole only there"
        )


def test_the_whole_body_reads_as_blocks_and_usage() -> None:
    answer = ResponsesAnswer(ANSWERS["search"][0], _request([{"type": "web_search"}]), set(), {})
    body = answer.complete_body()
    body["usage"]["input_tokens_details"]["cached_tokens"] = 3
    response = codec.decode_response(body)
    search, thinking, text = response.content
    assert isinstance(search, HostedToolBlock) and search.item == answer.items[0]
    assert thinking == ThinkingBlock("Look it up.", summary=True, openai_item=answer.items[1])
    assert isinstance(text, TextBlock) and text.text == "News today." and text.annotations == answer.annotations()
    usage = body["usage"]
    assert response.usage.prompt_tokens == usage["input_tokens"] and response.usage.cache_read_input_tokens == 3
    assert response.usage.reasoning_tokens == usage["output_tokens_details"]["reasoning_tokens"] > 0
    assert codec.decode_response(ResponsesAnswer(*ANSWERS["truncated"][:1], _request([]), set(), {}).complete_body()).stop_reason == "max_tokens"


def _sse(payload: dict) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def test_failures_in_the_stream_are_the_upstream_s_errors() -> None:
    created = _sse({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "gpt-5"}})
    error = _sse({"type": "error", "sequence_number": 1, "code": "rate_limit_exceeded", "message": "Slow down", "param": None})
    with pytest.raises(UpstreamStreamError) as raised:
        codec.StreamDecoder().feed(created + error)
    assert raised.value.error_type == "rate_limit_error" and raised.value.message == "Slow down"
    failed = _sse({"type": "response.failed", "sequence_number": 1, "response": {"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "boom"}}})
    with pytest.raises(UpstreamStreamError, match="boom"):
        codec.StreamDecoder().feed(created + failed)
    decoder = codec.StreamDecoder()
    decoder.feed(created)
    with pytest.raises(UnterminatedStream):
        decoder.finish()


def test_reasoning_without_a_summary_shows_nothing() -> None:
    reasoning = {"id": "rs_1", "type": "reasoning", "summary": []}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Hi", "annotations": []}]}
    body = {"id": "resp_1", "model": "gpt-5", "status": "completed", "output": [reasoning, message], "usage": None}
    assert codec.decode_response(body).content == [TextBlock("Hi", annotations=None)]
    events = [
        {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-5"}},
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
        {"type": "response.output_item.added", "output_index": 1, "item": {**message, "content": []}},
        {"type": "response.content_part.added", "output_index": 1, "content_index": 0, "part": {"type": "output_text", "text": ""}},
        {"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "Hi"},
        {"type": "response.content_part.done", "output_index": 1, "content_index": 0, "part": message["content"][0]},
        {"type": "response.output_item.done", "output_index": 1, "item": message},
        {"type": "response.completed", "response": body},
    ]
    decoder, accumulated = codec.StreamDecoder(), StreamAccumulator()
    for event in decoder.feed(b"".join(_sse({**e, "sequence_number": n}) for n, e in enumerate(events))) + decoder.finish():
        accumulated.add(event)
    assert accumulated.response().content == [TextBlock("Hi")]
