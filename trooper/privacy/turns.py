"""Where private data is looked for in a conversation: the messages a session has not seen yet —
the new user turn, the tool results an agent read, the file paths of its tool calls."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from trooper.conversation import Message, TextBlock, ToolResultBlock, ToolUseBlock
from trooper.privacy.custom import CustomRules
from trooper.privacy.detect import detect
from trooper.privacy.findings import Finding


@dataclass(frozen=True)
class TurnFinding:
    """A finding and the turn it is in: the message's position in the conversation."""

    turn: int
    finding: Finding

    def describe(self) -> dict[str, object]:
        """What may be recorded and shown of it: never the value."""
        return {"finding": self.finding.kind, "category": self.finding.category, "turn": self.turn}


def message_texts(message: Message) -> Iterator[str]:
    """The texts of ``message`` a secret can be in: text, tool results, tool-call arguments."""
    for block in message.content:
        if isinstance(block, TextBlock):
            yield block.text
        elif isinstance(block, ToolResultBlock):
            yield from (part.text for part in block.content if isinstance(part, TextBlock))
        elif isinstance(block, ToolUseBlock) and block.input:
            yield json.dumps(block.input, ensure_ascii=False)


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
