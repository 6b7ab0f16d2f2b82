"""Which candidate items a SITREP lists as completed steps and open loops: a learned choice.

The fold proposes candidates (a prose clause the cues read as done or open, every clause of a
text turn cut to its core and a long one's comma-separated parts, a question…); each is
described by features of its shape and its role (who wrote it, where it comes from, the cue
words it and its sentence hold in any of five languages, its length, a path or a number in it,
how recent its turn is) and a ``LinearModel`` per field lists it when its score is positive.
What tool calls, ``TodoWrite`` and git state say is listed by rule (structure before prose). The models are fitted on the dev split by
``python -m tests.memory.train_items`` and shipped as ``models/completed_steps.json`` and
``models/open_loops.json``; a model's bias already holds the threshold its cross-validation chose.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Literal, NamedTuple

from trooper.memory.sitrep import cues
from trooper.memory.sitrep.linear import LinearModel, load_model
from trooper.memory.triggers import derive_triggers

Field = Literal["completed_steps", "open_loops"]
FIELDS: tuple[Field, ...] = ("completed_steps", "open_loops")
#: The features of a text candidate read from one of the session's latest text turns (an agent's
#: closing report, the user's last word and the answer to it): known only at ``build``, so they
#: are added to the score there. ``final`` is the latest text turn, ``final1`` the one before…
FINAL = "final"
#: How many of the latest text turns have their own ``final_features``.
RECENT_TURNS = 3
#: Where text candidates come from; the others come from tool calls, ``TodoWrite`` and git state.
TEXT_SOURCES = frozenset({"question", "prose", "report_item", "report_clause", "clause"})


@lru_cache(maxsize=64)
def final_features(source: str, role: str, rank: int = 0) -> tuple[str, ...]:
    """The features a text candidate has while its turn is the ``rank``-th latest text turn (0: the latest)."""
    name = f"{FINAL}{rank}" if rank else FINAL
    return (name, f"{name}:{source}:{role}")


class Candidate(NamedTuple):
    """A candidate as training reads it: its features, and where it was read."""

    features: tuple[str, ...]
    turn: int
    role: str
    #: From a text turn: ``final_features`` apply while it is one of the session's latest.
    text: bool
    source: str

# Work put off: it stays open whatever a later turn says about something else.
_DEFERRED = re.compile(
    r"\b(?:tomorrow|later|next (?:week|sprint|pr|time|release|month)|out of time|for now|follow-?up|"
    r"separate (?:pr|ticket|issue)|own pr|ticket|left (?:it |them )?(?:for|as)|leave (?:it|that|them)|"
    r"todo|not (?:yet )?(?:done|committed|pushed|merged|tested|measured|verified|confirmed))\b"
)
_EXTENSIONS = r"(?:py|go|rs|ts|tsx|js|jsx|rb|java|kt|cs|sql|tf|ya?ml|json|toml|css|html|sh|md)"
_PATH = re.compile(rf"[\w-]+(?:/[\w.-]+)+|\b[\w-]+\.{_EXTENSIONS}\b")
#: What a file name of ``_PATH`` holds: scanned for in C (a literal "."), where ``_PATH`` tries
#: every word start and backtracks over its word.
_FILE_EXTENSION = re.compile(rf"\.{_EXTENSIONS}\b")
_NUMBER = re.compile(r"\d")
_NOW = re.compile(r"\bnow\b")
_GREEN = re.compile(r"\b(?:pass(?:es|ed|ing)?|green|clean|succeed(?:s|ed)?|works?)\b")
_GREEN_TRIGGERS = derive_triggers([_GREEN.pattern])
_MODAL = frozenset("will would should could might may can need needs must i'll we'll let's".split())
_STAND_INS = frozenset("it that this they these those which".split())
_DETERMINERS = frozenset("the a an".split())


def _bucket(count: int, edges: tuple[int, ...]) -> str:
    for edge in edges:
        if count <= edge:
            return str(edge)
    return f">{edges[-1]}"


@lru_cache(maxsize=8192)
def text_features(item: str) -> tuple[str, ...]:
    """Features of an item's own text: its length, its first word's form, a few telling words
    (what the cues read in its sentence is told by the caller: ``said_done``, ``said_open``)."""
    lowered = item.lower()
    words = lowered.split()
    word_set = cues.turn_words(lowered)  # the trigger look-ups below share it
    first = words[0].strip(",.:;!()") if words else ""
    features = [f"words={_bucket(len(words), (3, 6, 9))}"]
    if first.endswith("ed") or first in cues.PAST_FORMS:
        features.append("first=past")
    elif first.endswith("ing"):
        features.append("first=ing")
    elif first in _MODAL:
        features.append("first=modal")
    elif first in _STAND_INS:
        features.append("first=stand_in")
    elif first in _DETERMINERS:
        features.append("first=determiner")
    if item[:1].isupper():
        features.append("capitalised")
    for name, found in (
        ("done_cue", cues.says_done(lowered, word_set)),
        ("question", lowered.rstrip().endswith("?")),
        ("path", "/" in item or "." in item and bool(_FILE_EXTENSION.search(item)) and bool(_PATH.search(item))),
        ("number", bool(_NUMBER.search(item))),
        ("now", "now" in lowered and bool(_NOW.search(lowered))),
        ("green", _GREEN_TRIGGERS.may_match(lowered, word_set) and bool(_GREEN.search(lowered))),
        ("colon", ":" in item),
    ):
        if found:
            features.append(name)
    return tuple(features)


# What follows the core of a clause: an aside in brackets, a reason, a consequence, a relative
# clause ("fixed (LastUpdated gets …)", "… so node 22 installs", "…, which fixes Safari").
_ASIDE = re.compile(r"\s*\([^)]*\)?")
_TAIL = re.compile(r"\s+(?:because|since|so that|which|so|as|instead of|otherwise|meaning|until)\s.*$|[,:]?\s+(?:e\.g\.|i\.e\.|like)\s.*$")
#: The blank-separated word each alternative of ``_TAIL`` needs: a clause holding none has no tail to cut.
_TAIL_WORDS = frozenset("because since so which as instead otherwise meaning until e.g. i.e. like".split())
#: Words of a core at most: a person's summary of a step or a loop runs six or seven.
CORE_WORDS = 10


def core(clause: str) -> str:
    """The core of a concise clause: without its aside, reason or consequence, ``CORE_WORDS`` at most."""
    text = _ASIDE.sub("", clause) if "(" in clause else clause
    words = text.split()
    if not _TAIL_WORDS.isdisjoint(words):
        cut = _TAIL.sub("", text)
        if len(cut.split()) >= 3:
            words = cut.split()
    return first_words(words, CORE_WORDS).rstrip(".,;:-")


# A subject and its auxiliary opening an item: what follows says what is done or to do ("I'll set
# up a bake-off next week", "we'd need a ticket for it", "you can drop the flag", "it was a float
# parsing bug").
_LEAD = re.compile(
    r"(?:i|we|you|it|they|he|she)(?:'ll|'d|'ve|'m|'re|\s+(?:will|would|should|need to|have to|want to|am|are|was|were|can|could|might))"
    r"\s+(?:(?:also|just|now|still|then|probably|actually|already|finally)\s+)?",
    re.IGNORECASE,
)
_LEAD_STARTS = frozenset("iIwWyYtThHsS")


@lru_cache(maxsize=8192)
def shown(item: str) -> str:
    """An item as the SITREP lists it: without a subject and auxiliary opening it ("I'll set up a
    bake-off next week" → "set up a bake-off next week"). The selector reads the clause as written
    (its first word's form is one of its features); only the listed text is shorter."""
    if item[:1] not in _LEAD_STARTS:
        return item
    lead = _LEAD.match(item)
    if lead is None or item.count(" ", lead.end()) < 1:
        return item
    return item[lead.end() :]


#: Words that lead to what follows them: an item cut right after one reads as broken off.
_DANGLING = frozenset(
    "a an the and or but so to of for on in at by with from into onto as than that this these those "
    "is are was were be been my our your their its his her when if while after before then because "
    "which who whose where until via per".split()
)


#: Words before an aside the cut leaves open for the item to stand without it.
_KEPT_BEFORE_ASIDE = 3


def first_words(words: list[str], limit: int) -> str:
    """At most ``limit`` of ``words``, joined, without an aside left open at the end; when that
    cuts the text short, without the words the cut leaves dangling ("… keep it for a follow-up PR
    so this one stays a" ends on "stays")."""
    kept = words[:limit]
    text = " ".join(kept)
    opened = _open_aside(kept) if "(" in text else -1  # most items hold no "(": one scan in C
    if opened >= _KEPT_BEFORE_ASIDE:
        kept = kept[:opened]  # an aside left open ("… higher for that session (e.g") goes whole
    elif len(words) <= limit:
        return text
    while len(kept) > 1 and kept[-1].lower().strip(".,;:-") in _DANGLING:
        kept.pop()
    return " ".join(kept)


def _open_aside(words: list[str]) -> int:
    """Where the aside ``words`` leave open at their end starts; -1 when every "(" is closed."""
    depth, opened = 0, 0
    for index, word in enumerate(words):
        if not depth:
            opened = index
        depth = max(0, depth + word.count("(") - word.count(")"))
    return opened if depth else -1


@lru_cache(maxsize=8192)
def candidate_features(item: str, origin: str, extra: tuple[str, ...]) -> tuple[str, ...]:
    """An item's features where it comes from (``origin``: source and role, and "agent" in an
    agent's session): its text's, its place's in its turn (``extra``) and its origin's. (Each
    joined to the origin, they fit dev better and cross-validate worse: left out.)"""
    source, role, *agent = origin.split(":")
    return (*text_features(item), *extra, f"source={source}", f"role={role}", f"{source}:{role}", *agent)


# A clause that plans rather than reports: it is no step, whatever its words.
_PLAN = re.compile(r"(?:i'll|we'll|i will|we will|will|next|let me|let's|i'd|we'd|should|could|todo|to do|plan to)\b")


def planned_or_asked(item: str, sentence: str) -> bool:
    """The clause is a plan ("I'll add a benchmark next") or its sentence a question: no step."""
    return sentence.rstrip().endswith(("?", "？")) or bool(_PLAN.match(item.lower()))


@lru_cache(maxsize=8192)
def deferred(text: str) -> bool:
    """The text puts work off ("tomorrow", "next PR", "for now"): a loop it opens stays open."""
    lowered = text.lower()
    return _deferred(lowered, cues.turn_words(lowered))


def _deferred(lowered: str, words: set[str] | None) -> bool:
    return _DEFERRED_TRIGGERS.may_match(lowered, words) and bool(_DEFERRED.search(lowered))


#: Trigger words (``triggers``) of the sentence patterns: an ASCII sentence holding none of a
#: pattern's is not scanned with it.
_DEFERRED_TRIGGERS = derive_triggers([_DEFERRED.pattern])


# Language-independent cues of a sentence (English, German, Spanish, French, Portuguese): the
# selector reads them in any clause, not only in those the rules read as done or open. One
# alternation of named groups: a sentence is scanned once for all of them.
_SENTENCE_CUES = re.compile(
    # a day or a time to come: "monday", "next week", "nächste Woche", "semana que vem", "plus tard"
    r"\b(?P<later>monday|tuesday|wednesday|thursday|friday|tomorrow|tonight|next (?:week|sprint|release|month|time)|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|morgen|später|nächste[nr]? (?:woche|sprint|release|monat)|"
    r"lunes|martes|miércoles|jueves|viernes|mañana|más tarde|próxima semana|semana que viene|"
    r"lundi|mardi|mercredi|jeudi|vendredi|demain|plus tard|semaine prochaine|"
    r"segunda|terça|quarta|quinta|sexta|amanhã|mais tarde|depois|semana que vem)\b|"
    # the writer's own work to come: "I'll", "ill", "we will", "je vais", "ich werde", "vou", "voy a"
    r"\b(?P<future_self>i'll|ill|i will|we'll|we will|i'm going to|gonna|i need to|we need to|"
    r"je vais|on va|ich werde|wir werden|voy a|vamos a|vou|vamos)\b|"
    # not done yet: "not yet", "noch nicht", "pas encore", "todavía no", "ainda não", "yet to", "still to"
    r"\b(?P<not_yet>not (?:\w+ )?yet|yet to|still to|noch nicht|pas encore|todavía no|aún no|ainda não)\b|"
    # a check named: tests, CI, a build passing or failing
    r"\b(?P<check>tests?|ci|build|pipeline|suite|pytest|lint)\b"
)
_SENTENCE_CUE_TRIGGERS = derive_triggers([_SENTENCE_CUES.pattern])
#: What marks code in prose: a path's slash, a call's brackets, a snake_case, dotted or camelCase name.
_CODE_MARK = re.compile(r"[/_()=<>`]|\w\.\w|[a-z][A-Z]")


@lru_cache(maxsize=8192)
def sentence_features(sentence: str) -> tuple[str, ...]:
    """What the whole sentence of a clause says: work put off, something that still is, a day to
    come, the writer's own work to come, not yet done, a check named, a question, how much is code."""
    lowered = sentence.lower()
    words = cues.turn_words(lowered)  # most sentences hold no pattern's trigger word: no scan
    code = len(_CODE_MARK.findall(sentence)) / (sentence.count(" ") + 1)  # marks per word
    first = _SENTENCE_CUES.search(lowered) if _SENTENCE_CUE_TRIGGERS.may_match(lowered, words) else None
    features = {match.lastgroup or "": None for match in _SENTENCE_CUES.finditer(lowered, first.start())} if first else {}
    features[f"code={'none' if not code else 'some' if code < 0.34 else 'much'}"] = None
    for name, found in (
        ("deferred", _deferred(lowered, words)),
        ("still", cues.says_still(lowered, words)),
        ("asks", lowered.rstrip().endswith(("?", "？"))),
    ):
        if found:
            features[name] = None
    return tuple(features)


class Selector:
    """The two fields' models; a candidate is listed when its ``score`` is positive."""

    __slots__ = ("_best_bonus", "models")

    def __init__(self, models: dict[Field, LinearModel] | None) -> None:
        #: ``None``: every candidate is kept (what training reads the candidates with).
        self.models = models
        self._best_bonus: dict[tuple[Field, str, str], float] = {}

    def score(self, field: Field, features: tuple[str, ...]) -> float:
        """The candidate's log-odds, threshold included: listed when positive."""
        return math.inf if self.models is None else self.models[field].score(features)

    def bonus(self, field: Field, source: str, role: str, rank: int) -> float:
        """What a candidate of the ``rank``-th latest text turn gains (its ``final_features``)."""
        return 0.0 if self.models is None else self.models[field].score(final_features(source, role, rank)) - self.models[field].bias

    def best_bonus(self, field: Field, source: str, role: str) -> float:
        """The most a candidate gains while its turn is one of the latest (``bonus`` at its best rank)."""
        key = (field, source, role)
        if key not in self._best_bonus:
            self._best_bonus[key] = max(self.bonus(field, source, role, rank) for rank in range(RECENT_TURNS))
        return self._best_bonus[key]

    def __deepcopy__(self, memo: dict[int, object]) -> Selector:
        return self  # shared, never changed: a builder's copy uses the same models


@lru_cache(maxsize=1)
def shipped_selector() -> Selector:
    """The selector of the models shipped in the package."""
    return Selector({field: load_model(field) for field in FIELDS})


KEEP_ALL = Selector(None)
