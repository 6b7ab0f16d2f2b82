"""The answer to a Claude compaction request, whoever answered (``wire/compaction.py``), judged
by the anthropic SDK's beta client (strict validation)."""

from __future__ import annotations

from tests.wire.sdk import anthropic_beta_stream_message
from trooper.conversation import (
    TROOPER_COMPACTION,
    BlockStart,
    BlockStop,
    HostedToolBlock,
    MessageDelta,
    MessageStart,
    MessageStop,
    Response,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    Usage,
    response_events,
)
from trooper.wire import anthropic
from trooper.wire.compaction import CompactionStream, as_compaction

CLAUDES = HostedToolBlock({"type": "compaction", "content": "Claude's summary", "signature": "sig_1"}, host="anthropic")


def streamed(events: list) -> bytes:
    stream = CompactionStream(anthropic.StreamEncoder("m"))
    return b"".join(stream.encode(event) for event in events)


def test_another_models_summary_becomes_one_compaction_block_its_thinking_left_out() -> None:
    events = [
        MessageStart("msg_1", "qwen3", Usage(40, 0)),
        BlockStart(0, ThinkingBlock("")), ThinkingDelta(0, "let me think"), BlockStop(0),
        BlockStart(1, TextBlock("")), TextDelta(1, "The user migrates "), TextDelta(1, "the orders table."), BlockStop(1),
        MessageDelta("end_turn", Usage(40, 9)), MessageStop(),
    ]  # fmt: skip
    message = anthropic_beta_stream_message(streamed(events))
    assert message.stop_reason == "compaction" and message.usage.output_tokens == 9
    assert [block.model_dump(exclude_none=True) for block in message.content] == [
        {"type": "compaction", "content": "The user migrates the orders table.", "encrypted_content": TROOPER_COMPACTION}
    ]
    answer = Response("msg_1", "qwen3", [ThinkingBlock("hm"), TextBlock("The user migrates the orders table.")])
    assert anthropic.encode_response(as_compaction(answer))["content"] == [message.content[0].model_dump(exclude_none=True)]


def test_claudes_own_compaction_passes_unchanged_and_an_empty_summary_is_a_failed_compaction() -> None:
    claudes = Response("msg_2", "claude", [CLAUDES], stop_reason="compaction")
    assert as_compaction(claudes) == claudes
    message = anthropic_beta_stream_message(streamed(response_events(claudes)))
    assert message.content[0].content == "Claude's summary" and message.content[0].signature == "sig_1"
    empty = as_compaction(Response("msg_3", "qwen3", [TextBlock("  ")]))
    assert empty.content == [HostedToolBlock({"type": "compaction", "content": None, "encrypted_content": TROOPER_COMPACTION}, host="anthropic")]
