"""Turns a flat protocol's deltas (OpenAI chunks, Ollama lines) into canonical block events.

Flat protocols send text, reasoning and tool-call fragments without block boundaries. The
sequencer opens a block lazily when its first fragment arrives, closes the open one before a
different block starts, and numbers blocks contiguously from 0, so the canonical stream always
has one block open at a time, as Anthropic clients expect.
"""

from __future__ import annotations

from typing import Any, Hashable

from trooper.conversation import (
    BlockStart,
    BlockStop,
    StreamEvent,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
)
from trooper.wire.errors import WireError


class BlockSequencer:
    def __init__(self) -> None:
        self._next_index = 0
        #: (kind, key) of the open block: ("text", None), ("thinking", None) or ("tool", key).
        self._open: tuple[str, Hashable] | None = None
        self._tool_keys: set[Hashable] = set()
        self.tool_calls = 0

    def text(self, text: str, logprobs: list[dict[str, Any]] | None = None) -> list[StreamEvent]:
        """``logprobs``: the log probabilities of the text's tokens, when the upstream gave them."""
        if not text:
            return []
        return self._ensure(("text", None), TextBlock("")) + [TextDelta(self._next_index - 1, text, logprobs)]

    def thinking(self, text: str) -> list[StreamEvent]:
        if not text:
            return []
        return self._ensure(("thinking", None), ThinkingBlock("")) + [ThinkingDelta(self._next_index - 1, text)]

    def start_tool(self, key: Hashable, tool_id: str, name: str, signature: str | None = None) -> list[StreamEvent]:
        """Open a tool-call block; ``key`` identifies the call in later ``tool_arguments``."""
        if key in self._tool_keys:
            raise WireError(f"tool call {key!r} started twice")
        self._tool_keys.add(key)
        self.tool_calls += 1
        return self._ensure(("tool", key), ToolUseBlock(tool_id, name, {}, signature=signature))

    def tool_arguments(self, key: Hashable, fragment: str) -> list[StreamEvent]:
        if self._open != ("tool", key):
            raise WireError(f"arguments for tool call {key!r} arrived after another block started")
        return [ToolInputDelta(self._next_index - 1, fragment)] if fragment else []

    @property
    def blocks(self) -> int:
        """How many blocks have been opened so far."""
        return self._next_index

    def is_open_tool(self, key: Hashable) -> bool:
        return self._open == ("tool", key)

    def close(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        self._open = None
        return [BlockStop(self._next_index - 1)]

    def _ensure(self, kind: tuple[str, Hashable], block: TextBlock | ThinkingBlock | ToolUseBlock) -> list[StreamEvent]:
        if self._open == kind:
            return []
        events = self.close()
        self._open = kind
        events.append(BlockStart(self._next_index, block))
        self._next_index += 1
        return events
