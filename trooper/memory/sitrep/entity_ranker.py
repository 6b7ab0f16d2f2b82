"""Which of a session's candidate names the SITREP lists: a learned ranker over their roles.

The extractor (``entities.py``) finds candidate names; ``EntityRanker`` keeps, per name, how and
where it was mentioned (how often, by whom: the user, the assistant, a tool call's input, a tool's
output; quoted as code; in the first user turn; in a turn that reports a problem or a failed tool
result) and scores it with the shipped ``LinearModel`` ``models/entities.json``. The features say
what kind of name it is and what role it played, never which word it is: a model fitted on a
hundred sessions must not learn their vocabulary. The names listed are the best-scored ones whose
score is positive (the training script folds the probability cut-off chosen by cross-validation
into the bias), at most ``entity_limit`` of the session's turns, the first named first among equals.

Fitted by ``python -m tests.memory.train_entities`` on the dev split only.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from trooper.memory.lexicon import AMBIGUOUS, TECHNOLOGIES
from trooper.memory.sitrep.entities import ACRONYM, FILE_EXTENSIONS, KEBAB_NAME
from trooper.memory.sitrep.linear import LinearModel, load_model

#: Entities shown at most, by the session's length (its turns so far): a person summarising a
#: session names at most eight (tests/data/LABELLING.md), but which eight is uncertain, and a
#: longer session has more to choose from. Chosen by cross-validation with the cut-off
#: (``tests/memory/train_entities.py`` checks them).
SHORT_SESSION_TURNS = 8
MAX_ENTITIES_SHORT = 8
MAX_ENTITIES_LONG = 10
MAX_ENTITIES = max(MAX_ENTITIES_SHORT, MAX_ENTITIES_LONG)
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
#: Every spelling of a technology: a name holding one as a part belongs to it.
_TECHNOLOGY_RUNS = frozenset(TECHNOLOGIES)
_RUN = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"\d")
_AMBIGUOUS_NAMES = frozenset(AMBIGUOUS.values())
#: Error names that do not end in "Error" / "Exception"; each opens with a capital, a digit or "exit".
_ERROR_SHAPE = re.compile(r"HTTP \d{3}|\d{3} [A-Z].*|exit (?:code|status) \d+|[A-Z]{1,4}-?\d{3,5}|E[A-Z]{3,}|SIG[A-Z]+")
_ENV_SHAPE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
#: A ticket's number has no leading zero; a vendor's error code has ("ORA-00942").
_TICKET_SHAPE = re.compile(r"[A-Z][A-Z0-9]{1,9}-(?:[1-9][0-9-]*|[a-z0-9]{4}-[a-z0-9-]+)|#\d+")
_KEBAB_SHAPE = re.compile(KEBAB_NAME, re.ASCII)
_PROPER_SHAPE = re.compile(r"[A-Z][a-z]+")


@lru_cache(maxsize=4096)
def entity_kind(entity: str) -> str:
    """What kind of name ``entity`` is, by its shape: technology, error, ticket, quantity, env,
    acronym (in capitals), proper (one capitalised word), flag, route (a URL route or a
    directory), product (capitalised words: AWS Lambda), phrase, slashed (a folder, a package or a
    rule), file, kebab (a kebab-case name) or code. (String tests before regexes:
    every new name of a session is classified once.)"""
    if entity in _TECHNOLOGY_NAMES or entity in _AMBIGUOUS_NAMES:
        return "technology"
    first = entity[:1]
    if (first.isupper() or first == "#") and _TICKET_SHAPE.fullmatch(entity):
        return "ticket"
    if entity.endswith(("Error", "Exception")) or ((first.isupper() or first.isdigit() or first == "e") and _ERROR_SHAPE.fullmatch(entity)):
        return "error"
    if first.isdigit() or first == "$":
        return "quantity"
    if first.isupper() and _ENV_SHAPE.fullmatch(entity):
        return "env"
    if first.isupper() and ACRONYM.fullmatch(entity):
        return "acronym"
    if first.isupper() and _PROPER_SHAPE.fullmatch(entity):
        return "proper"
    if first == "-":
        return "flag"
    if first == "/" and "." not in entity.rsplit("/", 1)[-1]:
        return "route"
    if " " in entity:
        return "product" if entity.replace(" ", "").isalnum() and all(word[:1].isupper() for word in entity.split(" ")) else "phrase"
    if "/" in entity and (first.islower() or first == "@") and not _has_extension(entity) and "(" not in entity:
        return "slashed"  # a folder, a package, an action, a rule: charts/api, actions/setup-python
    if "(" not in entity and ("/" in entity or entity in ("Dockerfile", "Makefile") or _has_extension(entity)):
        return "file"
    if first.islower() and _KEBAB_SHAPE.fullmatch(entity):
        return "kebab"
    return "code"


def _has_extension(entity: str) -> bool:
    """Ends with a file's extension: ``main.py``, ``Chart.yaml``; not ``asyncio.run``."""
    _, dot, extension = entity.rpartition(".")
    return bool(dot) and extension.lower() in FILE_EXTENSIONS


def _bucket(count: int) -> str:
    return "1" if count == 1 else "2" if count == 2 else "3-4" if count <= 4 else "5-8" if count <= 8 else "9+"


@lru_cache(maxsize=4096)
def name_features(entity: str) -> tuple[str, ...]:
    """What the name's own shape says: its kind, length, and the marks it carries."""
    kind = entity_kind(entity)
    size = len(entity)
    features = ["kind=" + kind, "length=short" if size <= 4 else "length=medium" if size <= 12 else "length=long" if size <= 30 else "length=very long"]
    if entity in _AMBIGUOUS_NAMES:
        features.append("ambiguous_technology")
    elif kind != "technology" and not _TECHNOLOGY_RUNS.isdisjoint(_RUN.findall(entity.lower())):
        features.append("holds_technology")  # pydantic-settings, react-hook-form, aws_route.tgw_a
    if _DIGIT.search(entity):
        features.append("has_digit")
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
    if flags & USER and flags & (ASSISTANT | TOOL_INPUT):
        roles.append("by_both")  # the user and the assistant each named it
    roles.append(f"mentions={_bucket(mentions)}")
    roles.append(f"user_mentions={min(user_mentions, 2)}")
    return tuple(roles)


def features(entity: str, mentions: int, user_mentions: int, flags: int) -> tuple[str, ...]:
    """Every feature of a name with this record (the training script's examples, the ranker's scores)."""
    return name_features(entity) + role_features(mentions, user_mentions, flags)


def entity_limit(turns: int, short: int = MAX_ENTITIES_SHORT, long: int = MAX_ENTITIES_LONG) -> int:
    """How many names a session of ``turns`` turns lists at most."""
    return short if turns <= SHORT_SESSION_TURNS else long


def choose(candidates: Iterable[tuple[str, Iterable[str]]], model: LinearModel, limit: int = MAX_ENTITIES) -> list[str]:
    """The names a SITREP lists: score > 0, best first, the first named first among equals.

    ``candidates``: (name, features) in the order the names were first mentioned. What
    ``EntityRanker.top`` gives, computed from scratch (the training script scores folds with it).
    """
    scored = [(-_rounded(model.score(found)), order, name) for order, (name, found) in enumerate(candidates)]
    return [name for score, _, name in sorted(scored)[:limit] if score < 0]


class EntityRanker:
    """Candidate names with their mention records, ranked by the shipped model as they come.

    The names listed are kept between calls; a name whose score changes is compared with them
    only. They are found again from every record when one of them loses score (what replaces it
    may be any name): once a name is named often, or when a file is renamed.
    """

    __slots__ = ("_records", "_changed", "_top", "_listed", "_stale", "_next", "_limit")

    def __init__(self) -> None:
        #: Name → [mentions, mentions by the user, flags, role, score, the name's part of it,
        #: order]: the turns that named it and how; ``role``, those three as the model sees them
        #: (``_role``); its score (None before its first ``top``) and what the name's shape adds to
        #: it (None until computed); its place in the order names were first mentioned.
        self._records: dict[str, list[Any]] = {}
        #: Names whose role changed since the last ``top``: only they are scored again.
        self._changed: dict[str, None] = {}
        #: (-score, order, name) of the names listed, ascending.
        self._top: list[tuple[float, int, str]] = []
        #: Their names.
        self._listed: list[str] = []
        self._stale = False
        #: The order the next new name takes.
        self._next = 0
        #: How many names are listed at most (``entity_limit``), as of the last ``top``.
        self._limit = 0

    def __contains__(self, name: str) -> bool:
        return name in self._records

    def mention(self, name: str, flags: int) -> None:
        """One turn named ``name``, in the roles and contexts of ``flags``."""
        records = self._records
        record = records.get(name)
        if record is None:
            records[name] = [1, flags & USER, flags, _role(1, flags & USER, flags), None, None, self._next]
            self._next += 1
            self._changed[name] = None
            return
        mentions = record[0] = record[0] + 1
        user_mentions = record[1] = record[1] + (flags & USER)
        flags = record[2] = record[2] | flags
        role = _role(mentions, user_mentions, flags)
        if role != record[3]:  # most mentions of a name named often change nothing the model sees
            record[3] = role
            self._changed[name] = None

    def rename(self, old: str, new: str) -> None:
        """``new`` takes over ``old``'s mentions (one file named from two roots)."""
        records = self._records
        record = records.pop(old)
        known = records.get(new)
        if known is None:  # last in the order, as a new name
            known = records[new] = [0, 0, 0, 0, None, None, self._next]
            self._next += 1
        mentions, user_mentions, flags = record[0] + known[0], record[1] + known[1], record[2] | known[2]
        known[:6] = [mentions, user_mentions, flags, _role(mentions, user_mentions, flags), None, None]
        self._changed.pop(old, None)
        self._changed[new] = None
        self._stale = True

    def records(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every candidate with its features, in the order first mentioned (for training)."""
        return [(name, features(name, *record[:3])) for name, record in sorted(self._records.items(), key=lambda item: item[1][6])]

    def top(self, limit: int = MAX_ENTITIES) -> list[str]:
        """The names listed, at most ``limit``: ``choose`` over the records with the shipped model,
        kept between calls (found again from every record when the limit changes)."""
        if limit != self._limit:
            self._limit, self._stale = limit, True
        if self._changed:
            model, records, roles, top, stale = load_model(MODEL), self._records, _ROLE_SCORES, self._top, self._stale
            for name in self._changed:
                record = records[name]
                role = record[3]
                role_score = roles.get(role)
                if role_score is None:
                    role_score = roles[role] = model.score(role_features((role >> 2) & 15, role & 3, role >> 6)) - model.bias
                name_score = record[5]
                if name_score is None:
                    name_score = record[5] = model.score(name_features(name))
                score, before = _rounded(name_score + role_score), record[4]
                if score == before:
                    continue
                record[4] = score
                if stale:
                    continue
                if name in self._listed:
                    if score < before:
                        stale = True  # it may fall behind a name not listed: look at them all
                        continue
                    top[self._listed.index(name)] = (-score, record[6], name)
                elif score <= 0 or (len(top) == limit and (-score, record[6]) > top[-1][:2]):
                    continue  # not listed, nor to be: most rescored names
                else:
                    top.append((-score, record[6], name))
                top.sort()
                del top[limit:]
                self._listed = [listed for _, _, listed in top]
            self._changed = {}
            self._stale = stale
        if self._stale:
            self._top = heapq.nsmallest(
                limit, [(-record[4], record[6], name) for name, record in self._records.items() if record[4] is not None and record[4] > 0]
            )
            self._listed = [listed for _, _, listed in self._top]
            self._stale = False
        return list(self._listed)


def _rounded(score: float) -> float:
    """A score without the last bits of float noise: the ranker sums a name's weights in two parts,
    ``choose`` in one, and two names of equal weights must tie (the first named first) either way."""
    return round(score, 9)


def _role(mentions: int, user_mentions: int, flags: int) -> int:
    """A record as the model sees it, in one int: flags, mentions up to 9, user mentions up to 2."""
    return (flags << 6) | ((mentions if mentions < 9 else 9) << 2) | (user_mentions if user_mentions < 2 else 2)


#: The shipped model's score of a record's roles (mentions, mentions by the user, flags packed in
#: one int), without the bias: sessions repeat the same few. A table of the model, filled as
#: roles come (at most 1,024 × 9 × 3 entries, a few hundred in practice), not a reading of texts:
#: ``clear_cache`` keeps it.
_ROLE_SCORES: dict[int, float] = {}


def clear_cache() -> None:
    """Forget the names' kinds and features kept (benchmarks start each round cold)."""
    for cached in (entity_kind, name_features):
        cached.cache_clear()
