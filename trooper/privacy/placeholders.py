"""``TROOPER_PRIVACY=redact``: each private value becomes a placeholder (``[SECRET_1]``,
``[EMAIL_2]``) before a request leaves the machine, and the placeholders in the answer become the
values again — in text, in tool-call arguments, in OpenAI's built-in tool items (a web search's
query…) and a text's citations, and in streams where a placeholder arrives split across deltas.
The ids in OpenAI's items (``id``, ``call_id``) are left as they are: they are no one's text.

A session's placeholders are stable (the same value is the same placeholder on every turn, so the
cloud model can refer to it) and live in memory only: the mapping holds the values.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from trooper.conversation import (
    UNREAD_KEYS,
    Block,
    BlockStart,
    BlockStop,
    HostedToolBlock,
    HostedToolProgress,
    HostedToolUpdate,
    Message,
    MessageStop,
    Request,
    Response,
    StreamEvent,
    TextAnnotation,
    TextBlock,
    TextCitation,
    TextDelta,
    ToolInputDelta,
    ToolResultBlock,
    ToolResultPart,
    ToolUseBlock,
    document_text,
)
from trooper.json_text import map_strings
from trooper.privacy.custom import CustomRules
from trooper.privacy.detect import detect
from trooper.privacy.findings import Finding, replace_findings

#: Finding kind → the word of its placeholder; every secret is a SECRET.
_LABELS = {
    "email": "EMAIL", "phone": "PHONE", "card_number": "CARD", "iban": "IBAN", "national_id": "NATIONAL_ID",
    "ip_address": "IP",
}  # fmt: skip
PLACEHOLDER = re.compile(r"\[(?:SECRET|EMAIL|PHONE|CARD|IBAN|NATIONAL_ID|IP)_\d{1,6}\]")
#: The longest placeholder: a stream holds back at most this much text to restore a split one.
_LONGEST = len("[NATIONAL_ID_999999]")
_PARTIAL = re.compile(r"\[[A-Z_]*\d*$")
#: Texts already redacted, by their content: a history resent on every turn is scanned once.
_CACHE_SIZE = 4096


@dataclass
class Placeholders:
    """One session's values and their placeholders."""

    by_value: dict[str, str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    _redacted: OrderedDict[str, str] = field(default_factory=OrderedDict)

    def placeholder(self, value: str, found: Finding) -> str:
        known = self.by_value.get(value)
        if known is None:
            label = "SECRET" if found.category == "secret" else _LABELS.get(found.kind, "SECRET")
            known = f"[{label}_{len(self.by_value) + 1}]"
            self.by_value[value] = known
            self.by_placeholder[known] = value
            # A text redacted before this value was known may hold it where it went unnoticed:
            # its cached redaction is stale.
            self._redacted.clear()
        return known

    def redact_text(self, text: str, rules: CustomRules) -> str:
        cached = self._redacted.get(text)
        if cached is not None:
            self._redacted.move_to_end(text)
            return cached
        redacted = replace_findings(text, detect(text, rules), lambda found: self.placeholder(text[found.start : found.end], found))
        # a value found elsewhere in the session is masked here too, whatever surrounds it
        for value, known in self.by_value.items():
            if value in redacted:
                redacted = redacted.replace(value, known)
        self._redacted[text] = redacted
        if len(self._redacted) > _CACHE_SIZE:
            self._redacted.popitem(last=False)
        return redacted

    def restore_text(self, text: str, *, in_json: bool = False) -> str:
        if "[" not in text or not self.by_placeholder:
            return text

        def value(match: re.Match[str]) -> str:
            original = self.by_placeholder.get(match.group())
            if original is None:
                return match.group()
            return json.dumps(original)[1:-1] if in_json else original

        return PLACEHOLDER.sub(value, text)


class Redactor:
    """Applies a session's placeholders to a request going out and to the answer coming back."""

    def __init__(self, placeholders: Placeholders, rules: CustomRules) -> None:
        self.placeholders = placeholders
        self.rules = rules

    # the request, on its way to the cloud

    def redact(self, request: Request) -> Request:
        # A value found in a later message masks it in earlier ones too: once a pass learns a
        # new value, the request is redacted again (values only grow, so this ends).
        while True:
            known = len(self.placeholders.by_value)
            redacted = self._redact_once(request)
            if len(self.placeholders.by_value) == known:
                return redacted

    def _redact_once(self, request: Request) -> Request:
        messages = [self._message(m) for m in request.messages]
        system = self._text(request.system) if request.system else request.system
        blocks = [replace(b, text=self._text(b.text)) for b in request.system_blocks] if request.system_blocks else request.system_blocks
        return replace(request, messages=messages, system=system, system_blocks=blocks)

    def _text(self, text: str) -> str:
        return self.placeholders.redact_text(text, self.rules)

    def _message(self, message: Message) -> Message:
        return Message(message.role, [self._block(b) for b in message.content])

    def _block(self, block: Block) -> Block:
        if isinstance(block, TextBlock):
            annotations = _mapped(block.annotations, self._text) if block.annotations else block.annotations
            citations = _mapped(block.citations, self._text) if block.citations else block.citations
            return replace(block, text=self._text(block.text), annotations=annotations, citations=citations)
        if isinstance(block, ToolResultBlock):
            return replace(block, content=[self._part(p) for p in block.content])
        if isinstance(block, ToolUseBlock):
            return replace(block, input=map_strings(block.input, self._text))
        if isinstance(block, HostedToolBlock):
            return self._hosted(block)
        return block

    def _part(self, part: ToolResultPart) -> ToolResultPart:
        if isinstance(part, TextBlock):
            return replace(part, text=self._text(part.text))
        return self._hosted(part) if isinstance(part, HostedToolBlock) else part

    def _hosted(self, block: HostedToolBlock) -> HostedToolBlock:
        if block.is_document() and not document_text(block.item):
            return block  # a PDF's bytes are nobody's text, and one changed byte breaks the file
        return replace(block, item=_mapped(block.item, self._text))

    # the answer, on its way back to the client

    def restore(self, response: Response) -> Response:
        return replace(response, content=[self._restored(b) for b in response.content])

    def _restored(self, block: Block) -> Block:
        restore = self.placeholders.restore_text
        if isinstance(block, TextBlock):
            annotations = _mapped(block.annotations, restore) if block.annotations else block.annotations
            citations = _mapped(block.citations, restore) if block.citations else block.citations
            return replace(block, text=restore(block.text), annotations=annotations, citations=citations)
        if isinstance(block, ToolUseBlock):
            return replace(block, input=map_strings(block.input, restore))
        if isinstance(block, HostedToolBlock):
            return replace(block, item=_mapped(block.item, restore))
        return block

    def stream_restorer(self) -> StreamRestorer:
        return StreamRestorer(self.placeholders)


class StreamRestorer:
    """Restores one answer's stream: text that may be the start of a placeholder waits for the
    delta that completes it (or for its block's end)."""

    def __init__(self, placeholders: Placeholders) -> None:
        self.placeholders = placeholders
        #: block index → (text held back, whether it is tool-call JSON)
        self._held: dict[int, tuple[str, bool]] = {}

    def restore(self, event: StreamEvent) -> Iterator[StreamEvent]:
        restore = self.placeholders.restore_text
        if isinstance(event, TextDelta):
            yield from self._delta(event.index, event.text, in_json=False)
        elif isinstance(event, ToolInputDelta):
            yield from self._delta(event.index, event.partial_json, in_json=True)
        elif isinstance(event, BlockStart) and isinstance(event.block, HostedToolBlock):
            yield replace(event, block=replace(event.block, item=_mapped(event.block.item, restore)))
        elif isinstance(event, HostedToolUpdate):
            yield replace(event, item=_mapped(event.item, restore))
        elif isinstance(event, HostedToolProgress):
            # each event whole: a placeholder split across a tool's own deltas stays as it came
            # there, and its item's final state (``HostedToolUpdate``) is restored whole
            yield replace(event, fields=_mapped(event.fields, restore))
        elif isinstance(event, TextAnnotation):
            yield replace(event, annotation=_mapped(event.annotation, restore))
        elif isinstance(event, TextCitation):
            yield replace(event, citation=_mapped(event.citation, restore))
        else:
            if isinstance(event, BlockStop | MessageStop):
                indexes = [event.index] if isinstance(event, BlockStop) else list(self._held)
                for index in indexes:
                    held, in_json = self._held.pop(index, ("", False))
                    if held:
                        yield _delta(index, self.placeholders.restore_text(held, in_json=in_json), in_json)
            yield event

    def _delta(self, index: int, text: str, *, in_json: bool) -> Iterator[StreamEvent]:
        held, _ = self._held.pop(index, ("", in_json))
        ready, rest = _split_partial(held + text)
        if rest:
            self._held[index] = (rest, in_json)
        if ready:
            yield _delta(index, self.placeholders.restore_text(ready, in_json=in_json), in_json)


def _mapped(value: Any, change: Callable[[str], str]) -> Any:
    """An OpenAI item (or a citation, an event's fields) with ``change`` applied to its strings but
    its ids and ciphertext."""
    return map_strings(value, change, skip=UNREAD_KEYS)


def _delta(index: int, text: str, in_json: bool) -> StreamEvent:
    return ToolInputDelta(index, text) if in_json else TextDelta(index, text)


def _split_partial(text: str) -> tuple[str, str]:
    """``text`` cut before a trailing ``[`` that may begin a placeholder the next delta finishes."""
    start = text.rfind("[", max(0, len(text) - _LONGEST))
    if start >= 0 and _PARTIAL.fullmatch(text, start):
        return text[:start], text[start:]
    return text, ""
