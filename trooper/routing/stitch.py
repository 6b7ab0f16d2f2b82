"""One client-facing stream out of one or more upstream streams.

When an upstream dies mid-answer and a fallback continues it, the client must still see a single
well-formed message: one ``message_start``, contiguous block indexes, the continuation appended to
the open text block, one final stop reason derived from what was emitted, usage summed.

``MessageStart`` (and an empty text block's start) is held back until the first real content
arrives, so a failure before any content reached the client can fail over invisibly (the
client's headers are not sent yet either).
"""

from __future__ import annotations

from trooper.conversation import (
    Block,
    BlockStart,
    BlockStop,
    HostedToolBlock,
    HostedToolProgress,
    HostedToolUpdate,
    MessageDelta,
    MessageStart,
    MessageStop,
    StreamAccumulator,
    StreamError,
    StreamEvent,
    TextAnnotation,
    TextBlock,
    TextCitation,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
    Usage,
    derive_stop_reason,
)


class Stitcher:
    def __init__(self) -> None:
        self._pending_start: MessageStart | None = None
        self._pending_block: BlockStart | None = None
        self._started = False
        self._index_map: dict[int, int] = {}
        self._open_block: int | None = None
        self._open_kind: str = ""
        self._next_index = 0
        self._usage = Usage()
        self._segment_usage = Usage()
        self._final_delta: MessageDelta | None = None
        self._continuing = False
        self._rescued = False
        self._segment_model = ""
        self.accumulator = StreamAccumulator()
        self.finished = False

    @property
    def committed(self) -> bool:
        """Whether the client has seen any of the answer (so a failure must be rescued, not hidden)."""
        return self._started

    @property
    def inside_tool_call(self) -> bool:
        return self._open_block is not None and self._open_kind == "tool_use"

    def partial_text(self) -> str:
        """The text the client has received so far (what a rescue must continue)."""
        return "".join(
            b.text for _, b in sorted(self.accumulator.blocks.items()) if isinstance(b, TextBlock)
        )

    def partial_blocks(self) -> list[Block]:
        return [b for _, b in sorted(self.accumulator.blocks.items())]

    def begin_segment(self) -> None:
        """A new upstream takes over; its events continue the same client message."""
        self._pending_block = None
        self._usage = self._usage + self._segment_usage
        self._segment_usage = Usage()
        self._index_map = {}
        self._continuing = self._started
        self._rescued = self._rescued or self._started

    def feed(self, event: StreamEvent) -> list[StreamEvent]:
        out = self._translate(event)
        for item in out:
            self.accumulator.add(item)
        return out

    def _translate(self, event: StreamEvent) -> list[StreamEvent]:
        if isinstance(event, MessageStart):
            self._segment_model = event.model
            if not self._started:
                self._pending_start = event
            self._segment_usage = Usage().merged(event.usage)  # the prompt's counts, cached ones included
            return []
        if isinstance(event, BlockStart):
            if not self._started and not isinstance(event.block, (ToolUseBlock, HostedToolBlock)):
                self._pending_block = event
                return []
            return self._start_block(event)
        if isinstance(event, (TextDelta, ToolInputDelta, ThinkingDelta, TextAnnotation, TextCitation, HostedToolProgress, HostedToolUpdate)):
            out = self._start_block(self._pending_block) if self._pending_block is not None else []
            self._pending_block = None
            index = self._index_map.get(event.index)
            if index is None:
                return out
            event.index = index
            return out + [event]
        if isinstance(event, BlockStop):
            if self._pending_block is not None and self._pending_block.index == event.index:
                self._pending_block = None  # an empty block: nothing to show
                return []
            index = self._index_map.get(event.index)
            if index is None or index != self._open_block:
                return []
            self._open_block = None
            return [BlockStop(index, event.signature)]
        if isinstance(event, MessageDelta):
            self._segment_usage = self._segment_usage.merged(event.usage)
            self._final_delta = event
            return []
        if isinstance(event, MessageStop):
            return self._finish()
        if isinstance(event, StreamError):
            return [event]
        return []

    def _start_block(self, event: BlockStart) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if not self._started:
            start = self._pending_start or MessageStart("", "")
            out.append(start)
            self._started = True
        continuing_text = (
            self._continuing
            and isinstance(event.block, TextBlock)
            and self._open_block is not None
            and self._open_kind == "text"
        )
        self._continuing = False
        if continuing_text:
            assert self._open_block is not None
            self._index_map[event.index] = self._open_block
            return out
        if self._open_block is not None:
            out.append(BlockStop(self._open_block))
        index = self._next_index
        self._next_index += 1
        self._index_map[event.index] = index
        self._open_block = index
        self._open_kind = "tool_use" if isinstance(event.block, ToolUseBlock) else event.block.type
        out.append(BlockStart(index, event.block))
        return out

    def _finish(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if not self._started:
            # An upstream that produced no content at all still yields a valid, empty message.
            out.append(self._pending_start or MessageStart("", ""))
            self._started = True
        if self._open_block is not None:
            out.append(BlockStop(self._open_block))
            self._open_block = None
        usage = self._usage + self._segment_usage
        reported = self._final_delta.stop_reason if self._final_delta else None
        stop_sequence = self._final_delta.stop_sequence if self._final_delta else None
        blocks = self.partial_blocks()
        answered_by = self._segment_model if self._rescued else None
        container = self._final_delta.container if self._final_delta else None
        out.append(MessageDelta(derive_stop_reason(blocks, reported), usage, stop_sequence, answered_by, container))
        out.append(MessageStop())
        self.finished = True
        return out
