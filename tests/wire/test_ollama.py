import json

import pytest

from tests.wire.streams import accumulate, decode_in_steps
from trooper.conversation import (
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Request,
    Response,
    StreamError,
    TextBlock,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    response_events,
)
from trooper.errors import InvalidRequest
from trooper.wire import UpstreamStreamError, WireError
from trooper.wire import ollama as codec

PNG = "iVBORw0KGgoAAAANSUhEUg=="
JPEG = "/9j/4AAQSkZJRgABAQ=="


def test_decode_request_matches_tool_results_to_calls_and_reads_options() -> None:
    body = {
        "model": "llama3.1",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "look", "images": [PNG, JPEG]},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "a", "arguments": {"x": 1}}}, {"function": {"name": "b", "arguments": {}}}]},
            {"role": "tool", "tool_name": "b", "content": "B"},
            {"role": "tool", "content": "A"},
        ],
        "options": {"num_ctx": 8192, "temperature": 0.1, "top_p": 0.5, "top_k": 3, "stop": ["x"], "num_predict": 64},
        "tools": [{"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}}],
    }
    request = codec.decode_request(body)
    assert request.stream is True  # Ollama's default
    assert request.system == "Be terse." and request.max_tokens == 64 and request.top_k == 3 and request.stop == ["x"]
    assert request.messages[0].content == [ImageBlock("image/png", PNG), ImageBlock("image/jpeg", JPEG), TextBlock("look")]
    calls = request.messages[1].tool_uses()
    assert [c.name for c in calls] == ["a", "b"] and calls[0].input == {"x": 1}
    results = request.messages[2].content
    assert results == [ToolResultBlock(calls[1].id, [TextBlock("B")]), ToolResultBlock(calls[0].id, [TextBlock("A")])]
    assert request.tools == [Tool("a", "", {"type": "object"})]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0]: a tool message must follow"),
        ({"model": "m", "messages": [{"role": "bot", "content": "x"}]}, "messages[0].role: must be one of"),
        ({"model": "m", "messages": [{"role": "user", "content": "x", "images": [1]}]}, "messages[0].images[0]: must be a base64 string"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "options": {"temperature": "hot"}}, "options.temperature: must be a number"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": [1]}}]}]}, "arguments: must be an object"),
        ({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f"}}]}, {"role": "tool", "tool_name": "g", "content": ""}]}, "no earlier tool call matches tool_name 'g'"),
    ],
)
def test_decode_request_rejects_bad_input_naming_the_field(body: dict, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        codec.decode_request(body)
    assert message in caught.value.message


def test_encode_request_sets_num_ctx_tool_names_and_images() -> None:
    request = Request(
        model="claude-x",
        system="sys",
        messages=[
            Message("user", [TextBlock("see"), ImageBlock("image/png", PNG), ImageBlock(url="https://x/y.png")]),
            Message("assistant", [ThinkingBlock("t"), TextBlock("ok"), ToolUseBlock("toolu_1", "shot", {"n": 2})]),
            Message("user", [ToolResultBlock("toolu_1", [TextBlock("done")])]),
        ],
        max_tokens=100,
        temperature=0.3,
        stop=["END"],
        tools=[Tool("shot")],
        tool_choice=ToolChoice("auto"),
    )
    body = codec.encode_request(request, "llama3.1:8b", stream=True, num_ctx=6144)
    assert body["options"] == {"num_ctx": 6144, "temperature": 0.3, "num_predict": 100, "stop": ["END"]}
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "see\n[image: https://x/y.png]", "images": [PNG]},
        {"role": "assistant", "content": "ok", "thinking": "t", "tool_calls": [{"function": {"name": "shot", "arguments": {"n": 2}}}]},
        {"role": "tool", "content": "done", "tool_name": "shot"},
    ]
    assert body["tools"][0]["function"]["name"] == "shot"
    request.tool_choice = ToolChoice("none")
    assert "tools" not in codec.encode_request(request, "m", stream=False)


def test_request_survives_encode_then_decode() -> None:
    request = Request(
        model="m",
        messages=[
            Message("user", [ImageBlock("image/jpeg", JPEG), TextBlock("hi")]),
            Message("assistant", [ToolUseBlock("id1", "f", {"a": [1]})]),
            Message("user", [ToolResultBlock("id1", [TextBlock("r")])]),
        ],
    )
    again = codec.decode_request(codec.encode_request(request, "m", stream=False))
    # Ollama has no tool-call ids: new ones are made, and the result still points at its call.
    call = again.messages[1].content[0]
    assert isinstance(call, ToolUseBlock) and (call.name, call.input) == ("f", {"a": [1]})
    assert again.messages[2].content == [ToolResultBlock(call.id, [TextBlock("r")])]
    assert again.messages[0] == request.messages[0] and again.stream is False


def test_response_that_says_stop_but_sent_a_tool_call_is_tool_use() -> None:
    body = {
        "model": "qwen3",
        "message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 20,
        "eval_count": 5,
    }
    response = codec.decode_response(body)
    assert response.stop_reason == "tool_use" and response.usage == Usage(20, 5)
    assert [(b.name, b.input) for b in response.content] == [("get_weather", {"city": "Oslo"})]


def test_response_round_trip_and_length() -> None:
    response = Response("id", "llama", [ThinkingBlock("t"), TextBlock("hi")], stop_reason="max_tokens", usage=Usage(1, 2))
    body = codec.encode_response(response)
    assert body["done_reason"] == "length" and body["done"] is True
    decoded = codec.decode_response(body)
    assert (decoded.content, decoded.stop_reason, decoded.usage) == (response.content, "max_tokens", Usage(1, 2))


def test_error_bodies_both_ways() -> None:
    assert codec.encode_error(404, "not_found_error", "model 'x' not found") == {"error": "model 'x' not found"}
    assert codec.decode_error(404, b'{"error":"model \'x\' not found, try pulling it first"}') == ("not_found_error", "model 'x' not found, try pulling it first")
    assert codec.decode_error(500, b"panic") == ("api_error", "panic")


def _lines(*objs: dict) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


STREAM = _lines(
    {"model": "qwen3", "message": {"role": "assistant", "content": "", "thinking": "Hmm"}, "done": False},
    {"model": "qwen3", "message": {"role": "assistant", "content": "Sure ✓"}, "done": False},
    {"model": "qwen3", "message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "a", "arguments": {"x": 1}}}, {"function": {"name": "b", "arguments": {}}}]}, "done": False},
    {"model": "qwen3", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop", "prompt_eval_count": 9, "eval_count": 4},
)


def test_stream_decoder_emits_whole_tool_calls_and_derives_tool_use() -> None:
    events = decode_in_steps(codec, STREAM)
    assert events[0] == MessageStart(events[0].id, "qwen3")
    assert events[-2:] == [MessageDelta("tool_use", Usage(9, 4)), MessageStop()]
    response = accumulate(events)
    assert [type(b).__name__ for b in response.content] == ["ThinkingBlock", "TextBlock", "ToolUseBlock", "ToolUseBlock"]
    assert response.content[1] == TextBlock("Sure ✓") and response.content[2].input == {"x": 1}


def test_stream_decoder_failures() -> None:
    with pytest.raises(WireError, match="without a done line"):
        decode_in_steps(codec, STREAM[: STREAM.rstrip(b"\n").rindex(b"\n") + 1])
    with pytest.raises(UpstreamStreamError, match="out of memory"):
        decode_in_steps(codec, _lines({"error": "out of memory"}))
    with pytest.raises(WireError, match="not JSON"):
        decode_in_steps(codec, b"{oops\n")


def test_stream_encoder_output_decodes_back_to_the_same_response() -> None:
    response = Response("id", "llama", [TextBlock("a"), ToolUseBlock("t1", "f", {"k": "v"})], stop_reason="tool_use", usage=Usage(3, 4))
    encoder = codec.StreamEncoder()
    raw = b"".join(encoder.encode(e) for e in response_events(response))
    final = json.loads(raw.splitlines()[-1])
    assert final["done"] is True and final["done_reason"] == "stop" and final["model"] == "llama"
    decoded = accumulate(decode_in_steps(codec, raw))
    assert [b for b in decoded.content if isinstance(b, TextBlock)] == [TextBlock("a")]
    assert [(b.name, b.input) for b in decoded.content if isinstance(b, ToolUseBlock)] == [("f", {"k": "v"})]
    assert decoded.stop_reason == "tool_use" and decoded.usage == Usage(3, 4)
    assert codec.StreamEncoder().encode(StreamError("api_error", "boom")) == b'{"error": "boom"}\n'
