"""The stitcher turns one or more upstream streams into one well-formed client message."""

from __future__ import annotations

from trooper.conversation import (
    BlockStart,
    BlockStop,
    MessageDelta,
    MessageStart,
    MessageStop,
    Response,
    StreamAccumulator,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
    response_events,
)
from trooper.routing.stitch import Stitcher


def text_stream(model: str, *pieces: str, stop: bool = True) -> list:
    events = [MessageStart("m1", model, Usage(10, 0)), BlockStart(0, TextBlock(""))]
    events += [TextDelta(0, p) for p in pieces]
    if stop:
        events += [BlockStop(0), MessageDelta("end_turn", Usage(0, len(pieces))), MessageStop()]
    return events


def feed(stitcher: Stitcher, events: list) -> list:
    out = []
    for event in events:
        out += stitcher.feed(event)
    return out


def test_message_start_and_an_empty_block_are_held_until_content_arrives():
    stitcher = Stitcher()
    assert stitcher.feed(MessageStart("m", "claude", Usage(5, 0))) == []
    assert stitcher.feed(BlockStart(0, TextBlock(""))) == []
    assert not stitcher.committed
    out = stitcher.feed(TextDelta(0, "Hi"))
    assert [type(e).__name__ for e in out] == ["MessageStart", "BlockStart", "TextDelta"]
    assert out[0].model == "claude"
    assert stitcher.committed


def test_a_tool_call_start_is_content():
    stitcher = Stitcher()
    stitcher.feed(MessageStart("m", "qwen"))
    assert len(stitcher.feed(BlockStart(0, ToolUseBlock("t", "f")))) == 2
    assert stitcher.committed


def test_a_continuation_appends_to_the_open_text_block_and_sums_usage():
    stitcher = Stitcher()
    first = feed(stitcher, text_stream("claude", "Hello ", "wor", stop=False))
    stitcher.begin_segment()
    second = feed(stitcher, text_stream("llama3.1:8b", "ld!"))
    client = StreamAccumulator()
    for event in first + second:
        client.add(event)
    assert sum(isinstance(e, MessageStart) for e in first + second) == 1
    assert client.finished
    response = client.response()
    assert response.text() == "Hello world!"
    assert [b.type for b in response.content] == ["text"]
    assert response.usage.input_tokens == 20 and response.usage.output_tokens == 1
    final = next(e for e in first + second if isinstance(e, MessageDelta))
    assert final.answered_by == "llama3.1:8b", "the final event says who finished the answer"


def test_an_unrescued_answer_names_no_other_model():
    stitcher = Stitcher()
    final = next(e for e in feed(stitcher, text_stream("claude", "Hi")) if isinstance(e, MessageDelta))
    assert final.answered_by is None


def test_indexes_stay_contiguous_and_a_tool_call_means_tool_use():
    stitcher = Stitcher()
    events = [
        MessageStart("m", "qwen", Usage(3, 0)),
        BlockStart(0, TextBlock("")), TextDelta(0, "Let me check."), BlockStop(0),
        BlockStart(5, ToolUseBlock("t1", "get_weather")), ToolInputDelta(5, '{"city": '), ToolInputDelta(5, '"Oslo"}'),
        BlockStop(5),
        MessageDelta("end_turn", Usage(0, 7)), MessageStop(),
    ]
    out = feed(stitcher, events)
    assert [e.index for e in out if isinstance(e, BlockStart)] == [0, 1]
    delta = next(e for e in out if isinstance(e, MessageDelta))
    assert delta.stop_reason == "tool_use", "an upstream that says stop after a tool call is corrected"
    assert stitcher.accumulator.response().content[1].input == {"city": "Oslo"}


def test_a_cut_inside_a_tool_call_is_detected():
    stitcher = Stitcher()
    feed(stitcher, [MessageStart("m", "x"), BlockStart(0, ToolUseBlock("t", "f")), ToolInputDelta(0, '{"a"')])
    assert stitcher.inside_tool_call and stitcher.committed


def test_an_empty_answer_is_still_a_valid_message():
    stitcher = Stitcher()
    out = feed(stitcher, [MessageStart("m", "x"), MessageDelta("end_turn"), MessageStop()])
    assert [type(e).__name__ for e in out] == ["MessageStart", "MessageDelta", "MessageStop"]


def test_openai_s_reasoning_item_without_a_summary_is_kept_for_its_encrypted_content() -> None:
    item = {"id": "rs_1", "type": "reasoning", "summary": [], "encrypted_content": "gAAAA-sealed"}
    answer = Response("m", "gpt-5", [ThinkingBlock("", summary=True, openai_item=item), TextBlock("Hi")])
    stitcher = Stitcher()
    for event in response_events(answer):
        stitcher.feed(event)
    assert stitcher.accumulator.response().content == answer.content, "not an empty block to drop: OpenAI needs it back"
