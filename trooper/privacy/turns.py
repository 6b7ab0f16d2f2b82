"""Where private data is looked for in a conversation: the messages a session has not seen yet —
the new user turn, the tool results an agent read, the file paths of its tool calls — and the
system prompt, when it is new to the session (a CLAUDE.md with a key, an app prompt with an email)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from trooper.conversation import UNREAD_KEYS, HostedToolBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock, document_text
from trooper.json_text import strings
from trooper.privacy.custom import CustomRules
from trooper.privacy.detect import detect
from trooper.privacy.findings import Finding

#: The turn of a finding in the system prompt (the messages count from 0).
SYSTEM_TURN = -1


@dataclass(frozen=True)
class TurnFinding:
    """A finding and the turn it is in: the message's position in the conversation, or
    ``SYSTEM_TURN`` for the system prompt."""

    turn: int
    finding: Finding

    def describe(self) -> dict[str, object]:
        """What may be recorded and shown of it: never the value."""
        return {"finding": self.finding.kind, "category": self.finding.category, "turn": self.turn}


def where(turn: int) -> str:
    """Where a finding is, for people: "turn 3" (counted from 1) or "the system prompt"."""
    return "the system prompt" if turn == SYSTEM_TURN else f"turn {turn + 1}"


def message_texts(message: Message) -> Iterator[str]:
    """The texts of ``message`` a secret can be in: text, tool results, tool-call arguments, the
    strings of built-in tool items but their ids and ciphertext (a web search's query…)."""
    for block in message.content:
        if isinstance(block, TextBlock):
            yield block.text
        elif isinstance(block, ToolResultBlock):
            yield from (part.text for part in block.content if isinstance(part, TextBlock))
            yield from (document_text(part.item) for part in block.content if isinstance(part, HostedToolBlock))
        elif isinstance(block, ToolUseBlock) and block.input:
            yield json.dumps(block.input, ensure_ascii=False)
        elif isinstance(block, HostedToolBlock) and block.is_document():
            yield document_text(block.item)  # a text document's text; a PDF's bytes are nobody's text
        elif isinstance(block, HostedToolBlock):
            yield from strings(block.item, skip=UNREAD_KEYS)


def unseen_from(held: int, messages: Sequence[Message]) -> int:
    """The position of the first message a session holding ``held`` messages has not seen: the
    messages after those, or the last run of user messages when the history was rewritten."""
    if len(messages) > held:
        return held
    start = len(messages)
    while start > 0 and messages[start - 1].role == "user":
        start -= 1
    return start


def find_in_turns(messages: Sequence[Message], start: int, rules: CustomRules) -> list[TurnFinding]:
    """The findings in ``messages[start:]``, each with its turn."""
    return [
        TurnFinding(turn, found)
        for turn in range(start, len(messages))
        for text in message_texts(messages[turn])
        for found in detect(text, rules)
    ]


def prompt_digest(system: str) -> bytes:
    """What identifies a system prompt, so an unchanged one (most turns resend it) is not scanned again."""
    return hashlib.blake2b(system.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def find_in_system(system: str | None, rules: CustomRules) -> list[TurnFinding]:
    """The findings in a system prompt (the client's blocks are joined into ``system``)."""
    return [TurnFinding(SYSTEM_TURN, found) for found in detect(system, rules)] if system else []
