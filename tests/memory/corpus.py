"""The labelled session corpus (tests/data/sessions) and how extraction is scored against it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trooper.conversation import Block, Message, TextBlock, ToolResultBlock, ToolUseBlock

SESSIONS_DIR = Path(__file__).parent.parent / "data" / "sessions"
_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset("the and for with from into that this was were are its it's not but now all our has have had".split())
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@dataclass
class LabelledSession:
    id: str
    kind: str
    messages: list[Message]
    expected: dict[str, Any]


def _block(data: dict[str, Any]) -> Block:
    if data["type"] == "text":
        return TextBlock(data["text"])
    if data["type"] == "tool_use":
        return ToolUseBlock(data["id"], data["name"], data["input"])
    return ToolResultBlock(data["tool_use_id"], [TextBlock(data["content"])], data.get("is_error", False))


def _message(data: dict[str, Any]) -> Message:
    content = data["content"]
    blocks = [TextBlock(content)] if isinstance(content, str) else [_block(b) for b in content]
    return Message(data["role"], blocks)


def load_corpus() -> list[LabelledSession]:
    sessions = []
    for path in sorted(SESSIONS_DIR.glob("*.json")):
        data = json.loads(path.read_text())
        sessions.append(LabelledSession(data["id"], data["kind"], [_message(m) for m in data["messages"]], data["expected"]))
    return sessions


# ---------------------------------------------------------------- scoring


def _terms(phrase: str) -> set[str]:
    """Words cut to five letters (a crude stem); CJK text as character pairs."""
    lowered = phrase.lower()
    terms = {w[:5] for w in _WORD.findall(lowered) if len(w) > 2 and w not in _STOP and not _CJK.search(w)}
    cjk = "".join(_CJK.findall(lowered))
    return terms | {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def phrase_matches(expected: str, extracted: str) -> bool:
    """An extracted item covers a labelled phrase when it holds at least half of its terms."""
    wanted = _terms(expected)
    return bool(wanted) and len(wanted & _terms(extracted)) >= max(1, len(wanted) / 2)


def normal_entity(entity: str) -> str:
    return "".join(entity.lower().split())


@dataclass
class Tally:
    matched_expected: int = 0
    expected: int = 0
    matched_extracted: int = 0
    extracted: int = 0

    def add(self, expected: list[str], extracted: list[str], fuzzy: bool) -> None:
        if fuzzy:
            hit = lambda e, x: phrase_matches(e, x)  # noqa: E731
        else:
            hit = lambda e, x: normal_entity(e) == normal_entity(x)  # noqa: E731
        self.expected += len(expected)
        self.extracted += len(extracted)
        self.matched_expected += sum(any(hit(e, x) for x in extracted) for e in expected)
        self.matched_extracted += sum(any(hit(e, x) for e in expected) for x in extracted)

    @property
    def precision(self) -> float:
        return self.matched_extracted / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.matched_expected / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def intent_overlap(expected: str, extracted: str) -> float:
    """Word-overlap F1 of two intents; two empty intents agree."""
    wanted, got = _terms(expected), _terms(extracted)
    if not wanted or not got:
        return float(wanted == got)
    common = len(wanted & got)
    return 2 * common / (len(wanted) + len(got))
