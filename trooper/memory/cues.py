"""What a sentence says about progress: done, still open, a question, a decision, a constraint.

Rules over lowercase text, mostly English with the commonest French, German, Spanish, Portuguese
and Japanese phrasings. A sentence is split into clauses first ("I added the index but it still
times out" is one step done and one problem open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from trooper.memory.phrases import compile_phrases

# "(?<=[.!?])\s+|\n+", written to open with a blank: the engine then skips to the blanks in C.
_ASCII_SENTENCE_SPLIT = re.compile(r"\s(?:(?<=[.!?]\s)\s*|(?<=\n)\n*)")
_WIDE_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")


def sentences(text: str) -> list[str]:
    """Sentences and lines of ``text`` (CJK full stops end sentences too)."""
    return (_ASCII_SENTENCE_SPLIT if text.isascii() else _WIDE_SENTENCE_SPLIT).split(text)


def first_sentence(text: str) -> str:
    """The first non-blank item of ``sentences(text)``, without splitting the rest of a long turn."""
    if not text.isascii():
        return next((s for s in sentences(text) if s.strip()), "")
    start = 0
    for match in _ASCII_SENTENCE_SPLIT.finditer(text):
        if text[start : match.start()].strip():
            return text[start : match.start()]
        start = match.end()
    return text[start:] if text[start:].strip() else ""


_CLAUSE_SPLIT = re.compile(r";\s*|,?\s+(?:but|however|although|though|yet)\s+|が、|けど|, mais |, aber |, pero |, mas ")
#: Text every clause separator contains: a sentence without any is one clause.
_MAY_SPLIT = re.compile(r";|が、|けど|but|though|however|yet|, mais |, aber |, pero |, mas ")

_DONE = re.compile(
    r"\b(?:completed?|finished|fixed|resolved|merged|deployed|shipped|released|landed|implemented|solved|"
    r"succeeded|succeeds|closed|done|(?:that|it|this) (?:worked|did it|did the trick)|(?:works|working|runs|loads|"
    r"starts|compiles|passes|builds) (?:now|again|fine)|now (?:works|runs|loads|starts|compiles|passes|builds)|"
    r"no longer (?:fails?|failing|happens|crash(?:es)?|leaks?|times out)|no more \w+|went through|back to normal|"
    r"(?:is|are|stays?|been) (?:flat|stable|green|gone)|is back to|matches|"
    r"it (?:now )?(?:works|starts|runs|builds|compiles|loads|passes)|"
    r"(?:tests?|checks?|ci|build|pipeline)s? (?:now )?(?:pass(?:es|ing)?|(?:is |are )?green))\b|\b(?:works|worked)$"
    r"|corrigé|résolu|réparé|fonctionne maintenant|behoben|gelöst|läuft(?! nicht)|laufen jetzt|funktioniert jetzt|"
    r"arreglado|resuelto|ya no|agora funciona|corrigido|resolvido|成功|解決しました|修正しました|直りました"
)
_NEGATION = re.compile(
    r"\b(?:not|never|no|yet to|isn't|wasn't|hasn't|haven't|didn't|won't|aren't|doesn't|don't|cannot|can't|nicht|pas)\b"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:will|would|should|could|might|may|once|if|when|unless|until|before|to be|needs? to|going to|let me|"
    r"let's|i'll|we'll|try|please|how|what|why|make sure|consider|next)\b"
)
_PENDING = re.compile(
    r"\b(?:blocked|blocking|pending|todo|to-do|remaining|remains|outstanding|unresolved|waiting for|awaiting|"
    r"in review|under review|in progress|later|tomorrow|next sprint|next week|follow-up|lacks?)\b|"
    r"(?:\bnot|n't)\s+(?:\w+\s+){0,3}yet\b|toujours pas|ainda não"
)
_STILL = re.compile(r"\b(?:still|again|immer noch|toujours|todavía|sigue|ainda)\b")
_PROBLEM = re.compile(
    r"\b(?:broken|breaks|fail(?:s|ed|ing|ure)?|errors?|erroring|crash(?:es|ed|ing)?|hang(?:s|ing)?|"
    r"leak(?:s|ed|ing|age)?|timing out|times out|timed out|timeouts?|not working|doesn't work|does not work|"
    r"isn't working|won't (?:start|build|compile|load|run)|stuck|regression|bug|exception|oom|refused|"
    r"unable|can't|cannot|slow|wrong|missing|panic(?:s|ked)?|flaky|denied|rejected|mismatch|returns? \d{3}|"
    r"spikes?|cut off|hidden|duplicate)\b"
    r"|erreur|ne marche|ne fonctionne|fehler|funktioniert nicht|geht nicht|no funciona|se cierra|erro|"
    r"não funciona|falha|エラー|失敗|できません|動きません"
)
_FIRST_PERSON = re.compile(r"\b(?:i|we|i've|we've|i have|we have)\s+(?:just\s+|also\s+|now\s+|finally\s+)?([a-z-]+)\b")
#: Past forms that are also the present or the imperative ("Put the defer…"): a past action only
#: after "I" or "we".
_AMBIGUOUS_PAST = frozenset("set put cut split shut spread hit let quit read".split())
_IRREGULAR_PAST = _AMBIGUOUS_PAST | frozenset(
    """ran re-ran reran wrote rewrote made built rebuilt took found did sent froze gave
    kept moved brought chose drew fed held led lit paid shut spent swapped taught told threw understood won
    bumped re-enabled""".split()
)
_NOT_ACTIONS = frozenset(
    """based related detailed expected needed used supposed interested called named concerned tired advanced
    limited shared nested tried wanted asked wondered noticed hoped guessed assumed thought seemed looked
    started indeed need feed speed seed embed red bed decided agreed planned scheduled failed crashed errored
    timed stopped died exited killed leaked dropped rejected refused denied missed""".split()
)
_QUESTION_START = re.compile(r"^(?:what|how|why|where|when|which|who|can|could|should|would|is|are|do|does|did|will|any)\b")
_DECISION = re.compile(
    r"\b(?:decided|decide to|we'll use|we will use|let's use|let's go with|go with|going with|chose|"
    r"opted|switch(?:ed|ing)? to|settled on|decision|we'll keep|stick with|sticking with)\b"
)
_CONSTRAINT = re.compile(
    r"\b(?:must|mustn't|has to|have to|not allowed|no more than|at most|at least|deadline|requirements?|"
    r"required|constraints?|limited to|only (?:use|allowed|have)|don't use|do not use|can't use|cannot use|"
    r"without (?:using|adding|any|breaking)|budget|never (?:use|add|commit|push|deploy|touch|change|break)|"
    r"no (?:new )?dependencies|stay (?:under|below|within))\b"
)


#: A turn without any of these cannot match a rule below: it is not split into sentences at all.
#: Only ever searched for, never located, so the alternatives' order does not matter.
_ANY_CUE_WORDS = compile_phrases(
    [
        (
            "cue",
            r"complet|finish|done|fix|resolv|merg|deploy|ship|releas|land|implement|solv|succe|pass|work|ed\b|"
            r"still|block|pending|todo|not yet|yet|remain|outstanding|unresolved|broke|fail|error|crash|hang|leak|"
            r"time[ds]? out|timing out|timeout|stuck|regress|bug|exception|refus|unable|can't|cannot|n't|slow|"
            r"decid|go with|going with|chose|choose|opt|switch|settled|use |must|has to|have to|not allowed|"
            r"no more|at most|at least|deadline|requir|constraint|limit|budget|never|later|tomorrow|sprint|wait|"
            r"review|stable|flat|gone|back to|matches|went through|now|"
            r"corrig|résolu|marche|erreur|fehler|behoben|läuft|laufen|nicht|funciona|arregl|sigue|cierra|erro|"
            r"成功|エラー|失敗|解決|修正|green|\b(?:" + "|".join(sorted(_IRREGULAR_PAST)) + r")\b",
        )
    ]
).pattern
_QUESTION_LINE = re.compile(r"^(?:what|how|why|where|which|is|are|do|does|can)\b", re.MULTILINE)


def any_cue(lowered: str) -> bool:
    """Whether any rule could match in this lowercase turn."""
    return bool("?" in lowered or "？" in lowered or _ANY_CUE_WORDS.search(lowered) or _QUESTION_LINE.search(lowered))


# The clause-level families as one alternation: a clause is scanned once. Order matters where
# they overlap: "not merged yet" is pending, "no longer fails" is done, not a negation.
_SIGNALS = compile_phrases(
    [
        ("pending", _PENDING.pattern),
        ("done", _DONE.pattern),
        ("still", _STILL.pattern),
        ("problem", _PROBLEM.pattern),
        ("negation", _NEGATION.pattern),
        ("hypothetical", _HYPOTHETICAL.pattern),
    ]
)


def clauses(sentence: str) -> list[str]:
    if not _MAY_SPLIT.search(sentence):
        return [sentence] if sentence.strip() else []
    return [part for part in _CLAUSE_SPLIT.split(sentence) if part.strip()]


def _is_past_action(word: str) -> bool:
    if word in _NOT_ACTIONS or word.startswith("un"):
        return False
    return word in _IRREGULAR_PAST or (word.endswith("ed") and len(word) > 4)


@dataclass
class _Signals:
    """Where each rule family matched in one clause, found in a single regex pass."""

    hits: dict[str, list[int]]

    def first(self, kind: str) -> int:
        return self.hits[kind][0] if kind in self.hits else -1

    def has(self, kind: str) -> bool:
        return kind in self.hits

    def any_between(self, kind: str, low: int, high: int) -> bool:
        return any(low <= at < high for at in self.hits.get(kind, ()))


def _signals(clause: str) -> _Signals:
    hits: dict[str, list[int]] = {}
    for match in _SIGNALS.pattern.finditer(clause):
        kind = _SIGNALS.label(match)
        if kind == "pending" and ("not" in match.group() or "n't" in match.group()):
            hits.setdefault("negation", []).append(match.start())  # "not merged yet" also negates
        hits.setdefault(kind, []).append(match.start())
    return _Signals(hits)


def _done_at(clause: str, signals: _Signals) -> int:
    """Where the clause reports something finished, or -1."""
    start = signals.first("done")
    if start >= 0:
        return start
    first_person = _FIRST_PERSON.search(clause) if ("i " in clause or "we" in clause) else None
    if first_person and _is_past_action(first_person.group(1)):
        return first_person.start(1)
    leading = [w.strip(",.:;!") for w in clause.split(maxsplit=3)[:3]]  # not the whole of a long clause
    index = next((i for i, w in enumerate(leading) if _is_past_action(w) and w not in _AMBIGUOUS_PAST), -1)
    return clause.find(leading[index]) if index >= 0 else -1


def is_done(clause: str, signals: _Signals | None = None) -> bool:
    """The clause reports something finished (not negated, not hoped for, not asked)."""
    if clause.rstrip().endswith(("?", "？")):
        return False
    signals = signals or _signals(clause)
    start = _done_at(clause, signals)
    if start < 0:
        return False
    return not signals.any_between("negation", start - 25, start) and not signals.any_between("hypothetical", 0, start)


def is_open(clause: str, from_user: bool, done: bool = False, signals: _Signals | None = None) -> bool:
    """The clause reports a problem or a piece of work that is not finished.

    Anyone's "still failing", "blocked", "pending", "not merged yet" counts; a plain problem
    report ("it crashes") counts from the user, whose problems the session is about, unless the
    same clause says it is ``done`` ("it no longer crashes").
    """
    signals = signals or _signals(clause)
    if signals.has("pending"):
        return True
    if signals.has("still") and (signals.has("problem") or signals.has("negation")):
        return True
    return from_user and not done and signals.has("problem") and signals.first("hypothetical") != 0


def is_problem(text: str) -> bool:
    return bool(_PROBLEM.search(text))


def is_question(sentence: str) -> bool:
    return sentence.endswith(("?", "？")) or bool(_QUESTION_START.match(sentence))


def is_decision(sentence: str) -> bool:
    return bool(_DECISION.search(sentence))


def is_constraint(sentence: str) -> bool:
    return bool(_CONSTRAINT.search(sentence))


class Reading(NamedTuple):
    """What one sentence of a turn says (immutable: readings are cached by turn text)."""

    sentence: str
    done: bool = False
    open: bool = False
    question: bool = False
    decision: bool = False
    constraint: bool = False


def read_turn(text: str, from_user: bool) -> list[Reading]:
    """Classify the sentences of one turn.

    Each rule family is first looked for in the whole turn, so a sentence only meets the rules
    that can match somewhere in its turn: most turns need a handful of regex passes in all.
    """
    lowered = text.lower()
    if not any_cue(lowered):
        return []
    may_decide = bool(_DECISION.search(lowered))
    may_constrain = from_user and bool(_CONSTRAINT.search(lowered))
    readings = []
    for raw in sentences(text):
        sentence = raw.strip()
        if len(sentence) < 4:
            continue
        low = sentence.lower()
        if from_user and is_question(low):
            readings.append(Reading(sentence, question=True))
            continue
        parts = clauses(low)
        signals = [_signals(part) for part in parts]
        done_parts = [is_done(part, found) for part, found in zip(parts, signals)]
        reading = Reading(
            sentence,
            done=any(done_parts),
            open=any(is_open(p, from_user, d, found) for p, d, found in zip(parts, done_parts, signals)),
            decision=may_decide and is_decision(low),
            constraint=may_constrain and is_constraint(low),
        )
        readings.append(reading)
    return readings
