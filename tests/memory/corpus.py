"""The labelled session corpus (tests/data/sessions/{dev,test}) and the strict scorer.

How the data is written and labelled: tests/data/LABELLING.md. Scoring (docs/sitrep.md):

- entities: one-to-one exact match after normalising (case, blanks, quotes and backticks, a
  leading ``./``, a trailing version, a technology's alias spelled another way);
- open loops and completed steps: one-to-one matching (best pairs first) of concise items whose
  word sets have a Jaccard similarity of at least 0.4; the lenient figure beside it counts a pair
  when the extracted item holds at least half of the label's words (still one-to-one);
- intent: every keyword of the label occurs among the first 20 words of the extracted intent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from trooper.conversation import Message
from trooper.memory.lexicon import TECHNOLOGIES
from trooper.wire import anthropic, openai

SESSIONS_DIR = Path(__file__).parent.parent / "data" / "sessions"
SPLITS = ("dev", "test")
JACCARD = 0.4
COVERAGE = 0.5
INTENT_WORDS = 20

_WORD = re.compile(r"[^\W_]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Function words in the corpus languages: they carry no meaning of their own in an item.
_STOP = frozenset(
    """a an the and or but of to in on at by for with from into onto as is are was were be been it its
    this that these those there i we you he she they my our your his her their me us them not no so
    then than now just also all any some still yet too very will would should can could has have had
    do does did done up out off over about after before again only more most
    der die das den dem des ein eine einen und oder nicht ist sind war mit von zu im am auf für bei noch
    el la los las un una unos y o de del en con por para es son al lo se que no
    le les un une des et ou du au aux en avec pour par est sont pas ne que qui
    o a os as um uma e ou de do da dos das em no na com por para é são não que""".split()
)
# A trailing version: "react@18", "PostgreSQL 16", "python3.12", "node v20.x".
_SPACED_VERSION = re.compile(r"(?:\s+|@)v?\d+(?:\.(?:\d+|x))*$")
_JOINED_VERSION = re.compile(r"v?\d+(?:\.(?:\d+|x))*$")


@dataclass
class LabelledSession:
    id: str
    kind: str
    split: str
    messages: list[Message]
    expected: dict[str, Any]
    system: str | None = None
    #: Who wrote and labelled it: the split's folder it sits in (``original``, ``writer-a``…).
    writer: str = ""


def _decode(data: dict[str, Any]) -> tuple[list[Message], str | None]:
    """The session's messages in the canonical model, decoded by Trooper's own codecs."""
    body: dict[str, Any] = {"model": "corpus", "max_tokens": 1, "messages": data["messages"]}
    if data.get("format", "anthropic") == "openai":
        request = openai.decode_request(body)
    else:
        if data.get("system"):
            body["system"] = data["system"]
        request = anthropic.decode_request(body)
    return request.messages, request.system


def load_split(split: str) -> list[LabelledSession]:
    """Every session of one split (``dev`` or ``test``), in file-name order."""
    sessions = []
    for path in sorted((SESSIONS_DIR / split).rglob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        messages, system = _decode(data)
        writer = path.parent.relative_to(SESSIONS_DIR / split).parts[0] if path.parent != SESSIONS_DIR / split else ""
        sessions.append(LabelledSession(data["id"], data["kind"], split, messages, data["expected"], system, writer))
    return sessions


def load_corpus(splits: Iterable[str] = SPLITS) -> list[LabelledSession]:
    """Sessions of the given splits (both by default: for tests that only check equivalences)."""
    return [session for split in splits for session in load_split(split)]


# ---------------------------------------------------------------- normalising


def _stem(word: str) -> str:
    """A light, language-blind stem: inflections of one word meet ("tests"/"test", "fixed"/"fix")."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    return word[:6]


def item_words(phrase: str) -> frozenset[str]:
    """The content words of a label or an extracted item; CJK text as character pairs."""
    lowered = phrase.lower()
    words = {_stem(w) for w in _WORD.findall(lowered) if w not in _STOP and not _CJK.search(w)}
    cjk = "".join(_CJK.findall(lowered))
    return frozenset(words | {cjk[i : i + 2] for i in range(len(cjk) - 1)})


def jaccard(expected: str, extracted: str) -> float:
    a, b = item_words(expected), item_words(extracted)
    return len(a & b) / len(a | b) if a and b else 0.0


def coverage(expected: str, extracted: str) -> float:
    """The share of the label's words the extracted item holds (the lenient figure)."""
    a, b = item_words(expected), item_words(extracted)
    return len(a & b) / len(a) if a else 0.0


def _without_version(name: str) -> str:
    """``name`` without a trailing version when what is left is a technology's name."""
    for pattern, shortest in ((_SPACED_VERSION, 2), (_JOINED_VERSION, 4)):
        bare = pattern.sub("", name).rstrip("-_ ")
        if bare != name and len(bare) >= shortest and bare in TECHNOLOGIES:
            return bare  # "PostgreSQL 16", "python3.12"; never "HTTP 502", "E0502" or "TS2305"
    return name


def normal_entity(entity: str) -> str:
    name = _without_version(entity.strip().strip("`'\"").lower())
    name = "".join(name.split()).removeprefix("./")
    return TECHNOLOGIES.get(name, name)


def entity_match(expected: str, extracted: str) -> float:
    return 1.0 if normal_entity(expected) == normal_entity(extracted) else 0.0


# ---------------------------------------------------------------- matching


def one_to_one(expected: list[str], extracted: list[str], score: Callable[[str, str], float], threshold: float) -> int:
    """How many label/extracted pairs match, each item used once, best-scoring pairs first."""
    pairs = sorted(
        ((score(e, x), i, j) for i, e in enumerate(expected) for j, x in enumerate(extracted)),
        reverse=True,
    )
    used_e: set[int] = set()
    used_x: set[int] = set()
    for value, i, j in pairs:
        if value < threshold:
            break
        if i not in used_e and j not in used_x:
            used_e.add(i)
            used_x.add(j)
    return len(used_e)


@dataclass
class Tally:
    matched: int = 0
    expected: int = 0
    extracted: int = 0

    def add(self, matched: int, expected: int, extracted: int) -> None:
        self.matched += matched
        self.expected += expected
        self.extracted += extracted

    @property
    def precision(self) -> float:
        return self.matched / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def intent_hit(keywords: list[str], extracted: str) -> bool:
    """Every keyword (one of its ``|`` alternatives) among the first 20 words of the intent."""
    head = " ".join(extracted.split()[:INTENT_WORDS])
    words = item_words(head)
    lowered = head.lower()

    def present(alternative: str) -> bool:
        wanted = item_words(alternative)
        if _CJK.search(alternative) or _CJK.search(head):  # no spaces between words: a substring
            return alternative.lower() in lowered
        return bool(wanted) and wanted <= words

    return bool(extracted.strip()) and all(any(present(a) for a in k.split("|")) for k in keywords)


@dataclass
class Scores:
    """Micro-averaged figures of one extractor over some sessions."""

    entities: Tally = field(default_factory=Tally)
    open_loops: Tally = field(default_factory=Tally)
    completed_steps: Tally = field(default_factory=Tally)
    open_loops_lenient: Tally = field(default_factory=Tally)
    completed_steps_lenient: Tally = field(default_factory=Tally)
    intent_hits: int = 0
    sessions: int = 0

    @property
    def intent(self) -> float:
        return self.intent_hits / self.sessions if self.sessions else 0.0

    def add(self, expected: dict[str, Any], sitrep: dict[str, Any]) -> None:
        self.sessions += 1
        self.intent_hits += intent_hit(expected["intent_keywords"], sitrep["intent"])
        labels, found = expected["entities"], sitrep["entities"]
        self.entities.add(one_to_one(labels, found, entity_match, 1.0), len(labels), len(found))
        for name in ("open_loops", "completed_steps"):
            labels, found = expected[name], sitrep[name]
            getattr(self, name).add(one_to_one(labels, found, jaccard, JACCARD), len(labels), len(found))
            lenient = getattr(self, f"{name}_lenient")
            lenient.add(one_to_one(labels, found, coverage, COVERAGE), len(labels), len(found))

    def figures(self) -> dict[str, float]:
        return {
            "entities": self.entities.f1,
            "open_loops": self.open_loops.f1,
            "completed_steps": self.completed_steps.f1,
            "intent": self.intent,
            "open_loops_lenient": self.open_loops_lenient.f1,
            "completed_steps_lenient": self.completed_steps_lenient.f1,
        }


def score(sessions: Iterable[LabelledSession], extract: Callable[[LabelledSession], dict[str, Any]]) -> Scores:
    scores = Scores()
    for session in sessions:
        scores.add(session.expected, extract(session))
    return scores
