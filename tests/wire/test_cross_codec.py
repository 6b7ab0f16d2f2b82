"""Property: an upstream stream, decoded by one codec and re-encoded by another, is accumulated by
the client's official SDK into exactly what the non-streaming translation of the same answer gives.

Upstream streams are built from a random canonical response whose text and tool-argument JSON are
cut into random fragments, encoded in the upstream's wire format, and delivered in random byte
chunks (splitting frames, lines and UTF-8 sequences anywhere).
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.wire.sdk import (
    anthropic_message,
    anthropic_stream_message,
    openai_completion,
    openai_response,
    openai_response_stream,
    openai_stream_completion,
    response_fields,
)
from trooper.conversation import (
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
)
from trooper.wire import anthropic, ollama, openai
from trooper.wire import responses as responses_codec

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False, width=32) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


@st.composite
def responses(draw: st.DrawFn) -> Response:
    text = draw(st.text(min_size=1, max_size=40) | st.just(""))
    calls = draw(st.lists(st.tuples(names, st.dictionaries(st.text(max_size=6), json_values, max_size=4)), max_size=3, min_size=0 if text else 1))
    content: list[Any] = [TextBlock(text)] if text else []
    content += [ToolUseBlock(f"call_{i}x{draw(st.integers(0, 999))}", name, args) for i, (name, args) in enumerate(calls)]
    stop = "tool_use" if calls else draw(st.sampled_from(["end_turn", "max_tokens"]))
    usage = Usage(draw(st.integers(1, 10**5)), draw(st.integers(1, 10**5)))
    return Response(id="resp_1", model="upstream-model", content=content, stop_reason=stop, usage=usage)  # type: ignore[arg-type]


def _pieces(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=5))))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a] or [text]


@st.composite
def fragmented_events(draw: st.DrawFn, response: Response) -> list[StreamEvent]:
    """The response as a stream whose deltas are cut at random points."""
    events: list[StreamEvent] = [MessageStart(response.id, response.model, Usage(response.usage.input_tokens, 0))]
    for index, block in enumerate(response.content):
        if isinstance(block, TextBlock):
            events.append(BlockStart(index, TextBlock("")))
            events += [TextDelta(index, piece) for piece in _pieces(draw, block.text)]
        else:
            events.append(BlockStart(index, ToolUseBlock(block.id, block.name, {})))
            events += [ToolInputDelta(index, piece) for piece in _pieces(draw, json.dumps(block.input))]
        events.append(BlockStop(index))
    return events + [MessageDelta(response.stop_reason, response.usage), MessageStop()]


def _chunks(draw: st.DrawFn, raw: bytes) -> list[bytes]:
    cuts = sorted(set(draw(st.lists(st.integers(0, len(raw)), max_size=20))))
    bounds = [0, *cuts, len(raw)]
    return [raw[a:b] for a, b in zip(bounds, bounds[1:])]


def _relay(upstream: ModuleType, encoder: Any, events: list[StreamEvent], chunks_of: Any) -> bytes:
    """Upstream wire bytes, chunked, through the upstream decoder and the client's ``encoder``."""
    upstream_encoder = upstream.StreamEncoder(include_usage=True)
    raw = b"".join(upstream_encoder.encode(e) for e in events)
    decoder = upstream.StreamDecoder()
    out = b""
    for chunk in chunks_of(raw):
        out += b"".join(encoder.encode(e) for e in decoder.feed(chunk))
    return out + b"".join(encoder.encode(e) for e in decoder.finish())


def _non_streaming(upstream: ModuleType, client: ModuleType, response: Response) -> dict[str, Any]:
    return client.encode_response(upstream.decode_response(upstream.encode_response(response)))


def _anthropic_view(message: Any, ids: bool) -> Any:
    blocks = [
        ("text", b.text) if b.type == "text" else ("tool_use", b.id if ids else None, b.name, b.input)
        for b in message.content
    ]
    return blocks, message.stop_reason, message.usage.input_tokens, message.usage.output_tokens


def _openai_view(completion: Any, ids: bool) -> Any:
    choice = completion.choices[0]
    calls = [(c.id if ids else None, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls or []]
    usage = completion.usage
    return choice.message.content or None, calls, choice.finish_reason, usage.prompt_tokens, usage.completion_tokens


UPSTREAMS = [openai, anthropic, ollama]


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), response=responses())
def test_anthropic_client_sees_the_same_answer_streamed_or_not(upstream: ModuleType, data: st.DataObject, response: Response) -> None:
    events = data.draw(fragmented_events(response))
    streamed = anthropic_stream_message(_relay(upstream, anthropic.StreamEncoder("trooper"), events, lambda raw: _chunks(data.draw, raw)))
    whole = anthropic_message(_non_streaming(upstream, anthropic, response))
    ids = upstream is not ollama  # Ollama has no tool-call ids; both paths make new ones
    assert _anthropic_view(streamed, ids) == _anthropic_view(whole, ids)
    assert streamed.stop_reason == ("tool_use" if response.stop_reason == "tool_use" else response.stop_reason)


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), response=responses())
def test_openai_client_sees_the_same_answer_streamed_or_not(upstream: ModuleType, data: st.DataObject, response: Response) -> None:
    events = data.draw(fragmented_events(response))
    streamed = openai_stream_completion(_relay(upstream, openai.StreamEncoder("trooper", include_usage=True), events, lambda raw: _chunks(data.draw, raw)))
    whole = openai_completion(_non_streaming(upstream, openai, response))
    ids = upstream is not ollama
    assert _openai_view(streamed, ids) == _openai_view(whole, ids)
    expected = {"tool_use": "tool_calls", "end_turn": "stop", "max_tokens": "length"}[response.stop_reason]
    assert streamed.choices[0].finish_reason == expected


def _responses_view(response: Any, ids: bool) -> Any:
    fields = response_fields(response)
    if not ids:  # call ids are made anew on each path
        for item in fields["output"]:
            item.pop("call_id", None)
    return fields


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), response=responses())
def test_responses_client_sees_the_same_answer_streamed_or_not(upstream: ModuleType, data: st.DataObject, response: Response) -> None:
    envelope = responses_codec.Envelope(id="resp_1", created_at=1_767_225_600, model="gpt-5")
    events = data.draw(fragmented_events(response))
    sdk_events, streamed = openai_response_stream(_relay(upstream, responses_codec.StreamEncoder(envelope), events, lambda raw: _chunks(data.draw, raw)))
    whole = openai_response(responses_codec.encode_response(upstream.decode_response(upstream.encode_response(response)), envelope))
    ids = upstream is not ollama
    assert _responses_view(streamed, ids) == _responses_view(whole, ids)
    assert streamed.status == ("incomplete" if response.stop_reason == "max_tokens" else "completed")
    # The deltas add up to what the items hold at the end.
    texts = {item.id: "" for item in streamed.output}
    for event in sdk_events:
        if event.type in ("response.output_text.delta", "response.function_call_arguments.delta"):
            texts[event.item_id] += event.delta
    for item in streamed.output:
        if item.type == "message":
            assert texts[item.id] == item.content[0].text
        else:
            assert json.loads(texts[item.id]) == json.loads(item.arguments)


@st.composite
def custom_calls(draw: st.DrawFn) -> tuple[Response, list[str]]:
    """An answer calling a custom tool with arbitrary text (and maybe function tools), and the texts."""
    inputs = draw(st.lists(st.text(max_size=60), min_size=1, max_size=2))
    functions = draw(st.lists(st.tuples(names.filter(lambda n: n != "apply_patch"), st.dictionaries(names, json_values, max_size=2)), max_size=2))
    calls = [("apply_patch", {"input": text}) for text in inputs] + functions
    ordered = draw(st.permutations(calls))
    content = [ToolUseBlock(f"call_{i}x{draw(st.integers(0, 999))}", name, args) for i, (name, args) in enumerate(ordered)]
    texts = [args["input"] for name, args in ordered if name == "apply_patch"]
    return Response(id="resp_1", model="upstream-model", content=content, stop_reason="tool_use", usage=Usage(3, 4)), texts  # type: ignore[arg-type]


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=lambda m: m.__name__.rsplit(".", 1)[1])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), answer=custom_calls())
def test_a_custom_tool_call_reaches_a_responses_client_byte_for_byte_streamed_or_not(
    upstream: ModuleType, data: st.DataObject, answer: tuple[Response, list[str]]
) -> None:
    response, texts = answer
    envelope = responses_codec.Envelope(id="resp_1", created_at=1_767_225_600, model="gpt-5", tools=[{"type": "custom", "name": "apply_patch"}])
    events = data.draw(fragmented_events(response))
    sdk_events, streamed = openai_response_stream(_relay(upstream, responses_codec.StreamEncoder(envelope), events, lambda raw: _chunks(data.draw, raw)))
    body = responses_codec.encode_response(upstream.decode_response(upstream.encode_response(response)), envelope)
    whole = openai_response(body)
    assert _responses_view(streamed, upstream is not ollama) == _responses_view(whole, upstream is not ollama)
    custom = [item for item in streamed.output if item.type == "custom_tool_call"]
    assert [item.input for item in custom] == texts
    for item in custom:
        deltas = [e.delta for e in sdk_events if e.type == "response.custom_tool_call_input.delta" and e.item_id == item.id]
        assert "".join(deltas) == item.input
    # Resent, the calls are the upstream's calls again.
    resent = responses_codec.decode_request({"model": "m", "input": body["output"]}).messages
    assert [(b.name, b.input) for b in resent[0].content] == [(b.name, b.input) for b in response.content]  # type: ignore[union-attr]
