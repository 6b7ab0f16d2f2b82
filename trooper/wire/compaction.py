"""The answer to Claude's compaction request (``compaction`` in a Messages body) as Claude gives
it, whoever answered: one ``compaction`` block and the ``compaction`` stop reason. Claude's own
answer is that already and passes unchanged; another model's summary (``memory/summary_request.py``)
becomes the block's content, marked as Trooper's (``TROOPER_COMPACTION``: no Claude signed it, so
Claude too is given it as text when the client resends it). A stream's summary is gathered and
given whole at its end, as Claude streams its own (one ``compaction_delta``).
"""

from __future__ import annotations

from dataclasses import replace

from trooper.conversation import (
    TROOPER_COMPACTION,
    BlockStart,
    BlockStop,
    HostedToolBlock,
    HostedToolUpdate,
    MessageDelta,
    MessageStart,
    MessageStop,
    Response,
    StreamError,
    StreamEvent,
    TextBlock,
    TextDelta,
    is_claude_compaction,
)
from trooper.wire.codec import StreamEncoding


def as_compaction(response: Response) -> Response:
    """``response`` as the answer to a compaction request."""
    if any(map(is_claude_compaction, response.content)):
        return response
    summary = "".join(block.text for block in response.content if isinstance(block, TextBlock))
    return replace(response, content=[_block(summary)], stop_reason="compaction", stop_sequence=None)


class CompactionStream:
    """Writes a compaction request's answer with ``inner`` (a Messages stream encoder): Claude's
    own compaction as it streams; another model's text gathered, and given as one compaction
    block when the answer ends (its thinking and anything else left out, as from a summary)."""

    def __init__(self, inner: StreamEncoding) -> None:
        self._inner = inner
        self._claudes = False
        self._summary: list[str] = []

    def encode(self, event: StreamEvent) -> bytes:
        if isinstance(event, BlockStart) and is_claude_compaction(event.block):
            self._claudes = True
        if self._claudes or isinstance(event, (MessageStart, MessageStop, StreamError)):
            return self._inner.encode(event)
        if isinstance(event, TextDelta):
            self._summary.append(event.text)
        if not isinstance(event, MessageDelta):
            return b""
        block = _block("".join(self._summary))
        events: list[StreamEvent] = [
            BlockStart(0, block), HostedToolUpdate(0, block.item), BlockStop(0), replace(event, stop_reason="compaction", stop_sequence=None),
        ]  # fmt: skip
        return b"".join(map(self._inner.encode, events))


def _block(summary: str) -> HostedToolBlock:
    """A compaction block holding ``summary``: none (a compaction that failed) when it is blank."""
    content = summary.strip() or None
    return HostedToolBlock({"type": "compaction", "content": content, "encrypted_content": TROOPER_COMPACTION}, host="anthropic")
