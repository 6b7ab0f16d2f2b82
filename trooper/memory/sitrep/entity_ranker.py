"""Which of a session's candidate names the SITREP lists: a learned ranker over their roles.

The extractor (``entities.py``) finds candidate names; ``EntityRanker`` keeps, per name, how and
where it was mentioned (how often, by whom: the user, the assistant, a tool call's input, a tool's
output; quoted as code; in the first user turn; in a turn that reports a problem or a failed tool
result) and scores it with the shipped ``LinearModel`` ``models/entities.json``. The features say
what kind of name it is and what role it played, never which word it is: a model fitted on a
hundred sessions must not learn their vocabulary. The names listed are the best-scored ones whose
score is positive (the training script folds the probability cut-off chosen by cross-validation
into the bias), at most ``MAX_ENTITIES``, the first named first among equals.

Fitted by ``python -m tests.memory.train_entities`` on the dev split only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from trooper.memory.lexicon import AMBIGUOUS, TECHNOLOGIES
from trooper.memory.sitrep.linear import LinearModel, load_model
from trooper.memory.sitrep.ranking import Ranking

#: Entities shown at most: a person summarising a session names at most eight (tests/data/LABELLING.md).
MAX_ENTITIES = 8
MODEL = "entities"

# Where a mention was read: bits of a name's record, one per role or context.
USER = 1
ASSISTANT = 2
TOOL_INPUT = 4
TOOL_OUTPUT = 8
QUOTED = 16  # in backticks
FIRST_USER_TURN = 32
PROBLEM_TURN = 64  # a turn that reports something open or broken
DONE_TURN = 128  # a turn that reports something done
FAILED_RESULT = 256  # a failed tool result (its error names)
COMMAND = 512  # a program or subcommand a tool call ran
_FLAG_NAMES = {
    USER: "by_user",
    ASSISTANT: "by_assistant",
    TOOL_INPUT: "in_tool_input",
    TOOL_OUTPUT: "in_tool_output",
    QUOTED: "quoted",
    FIRST_USER_TURN: "in_first_user_turn",
    PROBLEM_TURN: "in_problem_turn",
    DONE_TURN: "in_done_turn",
    FAILED_RESULT: "in_failed_result",
    COMMAND: "in_command",
}

_TECHNOLOGY_NAMES = frozenset(TECHNOLOGIES.values())
_AMBIGUOUS_NAMES = frozenset(AMBIGUOUS.values())
_ERROR_SHAPE = re.compile(r".*(?:Error|Exception)|HTTP \d{3}|\d{3} [A-Z].*|exit (?:code|status) \d+|[A-Z]{1,4}-?\d{3,5}|E[A-Z]{3,}|SIG[A-Z]+")
_ENV_SHAPE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_FILE_SHAPE = re.compile(r".*/.*|.*\.[A-Za-z]{1,5}|Dockerfile|Makefile")


@lru_cache(maxsize=4096)
def entity_kind(entity: str) -> str:
    """What kind of name ``entity`` is, by its shape: technology, error, quantity, env, flag,
    route (a URL route or a directory), phrase, file or code."""
    if entity in _TECHNOLOGY_NAMES or entity in _AMBIGUOUS_NAMES:
        return "technology"
    if _ERROR_SHAPE.fullmatch(entity):
        return "error"
    if entity[:1].isdigit() or entity[:1] == "$":
        return "quantity"
    if _ENV_SHAPE.fullmatch(entity):
        return "env"
    if entity[:1] == "-":
        return "flag"
    if entity[:1] == "/" and "." not in entity.rsplit("/", 1)[-1]:
        return "route"
    if " " in entity:
        return "phrase"
    if "(" not in entity and _FILE_SHAPE.fullmatch(entity):
        return "file"
    return "code"


def _bucket(count: int) -> str:
    return "1" if count == 1 else "2" if count == 2 else "3-4" if count <= 4 else "5-8" if count <= 8 else "9+"


@lru_cache(maxsize=4096)
def name_features(entity: str) -> tuple[str, ...]:
    """What the name's own shape says: its kind, length, and the marks it carries."""
    kind = entity_kind(entity)
    features = [f"kind={kind}", f"length={'short' if len(entity) <= 4 else 'medium' if len(entity) <= 12 else 'long' if len(entity) <= 30 else 'very long'}"]
    if entity in _AMBIGUOUS_NAMES:
        features.append("ambiguous_technology")
    if kind == "file":
        features.append(f"path_depth={min(entity.count('/'), 3)}")
        if "test" in entity.lower():
            features.append("test_file")
    if kind == "code":
        if entity.endswith(")"):
            features.append("code_call")
        if "." in entity:
            features.append("code_dotted")
        if "_" in entity:
            features.append("code_snake")
        elif entity[:1].isupper():
            features.append("code_pascal")
    return tuple(features)


def role_features(mentions: int, user_mentions: int, flags: int) -> tuple[str, ...]:
    """What the name's mentions say: how many, by whom, where.

    (Crossing each with the name's kind fitted dev better and held-out sessions worse.)"""
    roles = [name for bit, name in _FLAG_NAMES.items() if flags & bit]
    roles.append(f"mentions={_bucket(mentions)}")
    roles.append(f"user_mentions={min(user_mentions, 2)}")
    return tuple(roles)


def features(entity: str, mentions: int, user_mentions: int, flags: int) -> tuple[str, ...]:
    """Every feature of a name with this record (the training script's examples, the ranker's scores)."""
    return name_features(entity) + role_features(mentions, user_mentions, flags)


def choose(candidates: Iterable[tuple[str, Iterable[str]]], model: LinearModel, limit: int = MAX_ENTITIES) -> list[str]:
    """The names a SITREP lists: score > 0, best first, the first named first among equals.

    ``candidates``: (name, features) in the order the names were first mentioned. What
    ``EntityRanker.top`` gives, computed from scratch (the training script scores folds with it).
    """
    scored = [(-model.score(found), order, name) for order, (name, found) in enumerate(candidates)]
    return [name for score, _, name in sorted(scored)[:limit] if score < 0]


class EntityRanker:
    """Candidate names with their mention records, ranked by the shipped model as they come."""

    __slots__ = ("_records", "_ranking", "_changed", "_top")

    def __init__(self) -> None:
        #: Name → [mentions, mentions by the user, flags]: the turns that named it, how.
        self._records: dict[str, list[int]] = {}
        self._ranking = Ranking()
        #: Names mentioned since the last ``top``: only they are scored again.
        self._changed: dict[str, None] = {}
        self._top: list[str] | None = None

    def __contains__(self, name: str) -> bool:
        return name in self._records

    def mention(self, name: str, flags: int) -> None:
        """One turn named ``name``, in the roles and contexts of ``flags``."""
        record = self._records.get(name)
        if record is None:
            self._records[name] = [1, flags & USER, flags]
        else:
            record[0] += 1
            record[1] += flags & USER
            record[2] |= flags
        self._changed[name] = None

    def rename(self, old: str, new: str) -> None:
        """``new`` takes over ``old``'s mentions (one file named from two roots)."""
        record = self._records.pop(old)
        known = self._records.get(new)
        self._records[new] = record if known is None else [record[0] + known[0], record[1] + known[1], record[2] | known[2]]
        if old in self._ranking:
            self._ranking.remove(old)
        self._changed.pop(old, None)
        self._changed[new] = None

    def records(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every candidate with its features, in the order first mentioned (for training)."""
        return [(name, features(name, *record)) for name, record in self._records.items()]

    def top(self) -> list[str]:
        """The names listed: ``choose`` over the records with the shipped model, kept between calls."""
        if self._changed:
            model = load_model(MODEL)
            for name in self._changed:
                self._ranking.set(name, _score(model, name, *self._records[name]))
            self._changed = {}
            self._top = None
        if self._top is None:
            ranking = self._ranking
            self._top = [name for name in ranking.top(MAX_ENTITIES) if ranking[name] > 0]
        return list(self._top)


def _score(model: LinearModel, name: str, mentions: int, user_mentions: int, flags: int) -> float:
    """The model's score of one record: its name's part (kept per name) plus its roles' part
    (kept per record: sessions repeat the same few)."""
    return _name_score(model, name) + _role_score(model, mentions if mentions < 9 else 9, min(user_mentions, 2), flags)


@lru_cache(maxsize=4096)
def _name_score(model: LinearModel, name: str) -> float:
    return model.score(name_features(name))


@lru_cache(maxsize=4096)
def _role_score(model: LinearModel, mentions: int, user_mentions: int, flags: int) -> float:
    return model.score(role_features(mentions, user_mentions, flags)) - model.bias


def clear_cache() -> None:
    """Forget the names' kinds, features and scores kept (benchmarks start each round cold)."""
    for cached in (entity_kind, name_features, _name_score, _role_score):
        cached.cache_clear()
