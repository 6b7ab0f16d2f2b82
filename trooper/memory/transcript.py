"""Idempotent history: which messages of a resent conversation are new.

Stateless clients resend the whole history every turn. Messages are compared by a content
fingerprint that survives a round trip through any wire codec, so a resend adds only what is
really new; an edited or truncated history starts a new branch instead of duplicating turns. A
history that opens with a compaction the session holds (Claude's compaction block, in place of
all it summarises, as the SDK's tool runner resends it) continues the session from there, and so
does one that holds a summary the session's compaction turn wrote (Codex's history after
``/v1/responses/compact``: the user's own messages, then the summary, in place of the rest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass, field
from itertools import islice

from trooper.conversation import (
    HostedToolBlock,
    ImageBlock,
    Message,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    summary_in,
)


def _clean_text(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _image_key(block: ImageBlock) -> str:
    if block.data is not None:
        return "sha256:" + hashlib.sha256(block.data.encode("ascii", "replace")).hexdigest()
    return "url:" + (block.url or "")


def _text_parts(blocks: Sequence[TextBlock | ImageBlock | HostedToolBlock]) -> list[list[str]]:
    """Text and images (and documents) in order, adjacent texts joined: one block or several read the same."""
    parts: list[list[str]] = []
    pending: list[str] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            pending.append(block.text)
            continue
        if pending:
            parts.append(["text", _clean_text("".join(pending))])
            pending = []
        parts.append(["image", _image_key(block)] if isinstance(block, ImageBlock) else ["hosted", str(block.item.get("type"))])
    if pending:
        parts.append(["text", _clean_text("".join(pending))])
    return [part for part in parts if part != ["text", ""]]


def _normal_form(message: Message) -> list[object]:
    # Thinking is left out (clients drop earlier turns' thinking when they resend) and so are tool
    # ids: codecs mint them for protocols that have none, and pairing is positional anyway.
    form: list[object] = [message.role]
    plain: list[TextBlock | ImageBlock] = []
    for block in message.content:
        if isinstance(block, (TextBlock, ImageBlock)):
            plain.append(block)
            continue
        summary = block.summary() if isinstance(block, HostedToolBlock) else None
        if summary is not None:  # a compaction reads as its summary, whoever wrote it and however it is sent
            plain.append(TextBlock(summary))
            continue
        if plain:
            form.extend(_text_parts(plain))
            plain = []
        if isinstance(block, ToolUseBlock):
            form.append(["tool_use", block.name, block.input])
        elif isinstance(block, ToolResultBlock):
            form.append(["tool_result", bool(block.is_error), _text_parts(block.content)])
        elif not isinstance(block, ThinkingBlock):
            form.append([getattr(block, "type", "unknown")])
    form.extend(_text_parts(plain))
    return form


def message_fingerprint(message: Message) -> str:
    """A stable hex digest of what the message says, blind to insignificant differences.

    Ignored: whitespace at the ends of text, how text is split into blocks, ``\\r\\n`` versus
    ``\\n``, key order in tool inputs, tool ids, and thinking blocks.
    """
    canonical = json.dumps(_normal_form(message), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _stored_fingerprint(stored: list[Message], fingerprints: MutableSequence[str | None] | None, index: int) -> str:
    if fingerprints is None:
        return message_fingerprint(stored[index])
    known = fingerprints[index]
    if known is None:
        known = fingerprints[index] = message_fingerprint(stored[index])
    return known


@dataclass
class HistoryDiff:
    """How an incoming history relates to the stored one."""

    #: Leading messages both histories share.
    common_prefix: int
    #: Incoming messages after the common prefix: what to record.
    appended: list[Message] = field(default_factory=list)
    #: The incoming history edits or truncates the stored one: record ``appended`` on a new branch.
    branched: bool = False
    #: Where in the stored history the incoming one starts: 0, or the stored compaction it opens with,
    #: or the turn after the stored summary it holds.
    resumed_at: int = 0
    #: Where in the incoming history the comparison with the stored one starts: 0, or the message
    #: after the one holding a stored summary.
    incoming_at: int = 0

    @property
    def unchanged(self) -> bool:
        return not self.appended and not self.branched


def compaction_opening(messages: list[Message]) -> str | None:
    """The summary of the compaction a history opens with (Claude's compaction block, first in
    an assistant turn, in place of all it summarises); None when it opens otherwise."""
    first = messages[0] if messages and messages[0].role == "assistant" else None
    summaries = [block.summary() for block in first.content if isinstance(block, HostedToolBlock)] if first else []
    return next((summary for summary in summaries if summary), None)


def diff_history(
    stored: list[Message], incoming: list[Message], *, stored_fingerprints: MutableSequence[str | None] | None = None
) -> HistoryDiff:
    """Compare a resent history with the stored transcript (of the current branch).

    An incoming message equal to the stored one (the same fields: what a client resending its
    history unchanged sends) is matched without hashing either: equal messages have equal
    fingerprints, and comparing costs ~1 µs where hashing costs ~20 (~500 for 50 kB). Only a
    message that differs is compared by fingerprint. ``stored_fingerprints``: the stored
    messages' fingerprints as the caller keeps them, None for one not computed yet (computed
    here when needed, and kept in the list).
    """
    diff = _compared(stored, incoming, _resumed_at(stored, incoming, stored_fingerprints), 0, stored_fingerprints)
    if diff.branched and not diff.resumed_at:  # looked for only then: a resend that matches pays nothing
        after_summary = _after_summary(stored, incoming)
        if after_summary is not None:
            return _compared(stored, incoming, *after_summary, stored_fingerprints)
    return diff


def _compared(
    stored: list[Message], incoming: list[Message], start: int, incoming_start: int, fingerprints: MutableSequence[str | None] | None
) -> HistoryDiff:
    """The diff of the two histories compared from ``stored[start]`` and ``incoming[incoming_start]`` on."""
    common = 0
    for index, (old, new) in enumerate(zip(islice(stored, start, None), islice(incoming, incoming_start, None)), start):
        if old != new and _stored_fingerprint(stored, fingerprints, index) != message_fingerprint(new):
            break
        common += 1
    return HistoryDiff(start + common, list(incoming[incoming_start + common :]), start + common < len(stored), start, incoming_start)


def _after_summary(stored: list[Message], incoming: list[Message]) -> tuple[int, int] | None:
    """(stored, incoming) places right after a summary the stored history holds as the answer of
    its compaction turn and the incoming one holds as the last text of a user message (the
    newest such message); None when it holds none, or one the session did not write."""
    for incoming_index in range(len(incoming) - 1, -1, -1):
        message = incoming[incoming_index]
        last = message.content[-1] if message.role == "user" and message.content else None
        summary = summary_in(last.text) if isinstance(last, TextBlock) else None
        if summary is None:
            continue
        for index in range(len(stored) - 1, 0, -1):
            if stored[index].role == "assistant" and _answer_text(stored[index]) == summary:
                return index + 1, incoming_index + 1
        return None
    return None


def _answer_text(message: Message) -> str:
    return "".join(block.text for block in message.content if isinstance(block, TextBlock)).strip()


def _resumed_at(stored: list[Message], incoming: list[Message], fingerprints: MutableSequence[str | None] | None) -> int:
    """Where the stored history holds the compaction an incoming history opens with (the answer
    that made it: Claude's block, or the summary another model wrote), the last such place; 0
    when it opens otherwise, or with a compaction the session does not hold."""
    if compaction_opening(incoming) is None:
        return 0
    opening = message_fingerprint(incoming[0])
    for index in range(len(stored) - 1, 0, -1):
        if stored[index].role == "assistant" and _stored_fingerprint(stored, fingerprints, index) == opening:
            return index
    return 0
