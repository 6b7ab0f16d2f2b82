"""What a sentence says about progress: done, still open, a question, a decision, a constraint.

Rules over lowercase text, mostly English with the commonest French, German, Spanish, Portuguese
and Japanese phrasings. A sentence is split into clauses first ("I added the index but it still
times out" is one step done and one problem open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from trooper.memory.phrases import Phrases, compile_phrases, split_at_word_starts
from trooper.memory.triggers import ascii_words, derive_triggers

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
    """ran re-ran reran wrote rewrote made built rebuilt took did sent froze gave
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


#: A turn without any of these gives no reading, whatever its sentences say ("loads again" alone
#: is not read as done). Only ever searched for, never located, so the alternatives' order does
#: not matter.
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
_FAMILIES = (
    ("pending", _PENDING.pattern),
    ("done", _DONE.pattern),
    ("still", _STILL.pattern),
    ("problem", _PROBLEM.pattern),
    ("negation", _NEGATION.pattern),
    ("hypothetical", _HYPOTHETICAL.pattern),
)
_SIGNALS = compile_phrases(_FAMILIES)
_SPLIT_FAMILIES = [(label, split_at_word_starts(pattern)) for label, pattern in _FAMILIES]
# The same scan without the phrases that may start inside a word ("n't … yet", "erro", most
# non-English ones): nearly twice as fast, and it finds the same wherever none of those occurs
# (``_INNER_TRIGGERS`` tells), since a phrase matching nowhere never wins a position.
_WORD_SIGNALS = compile_phrases([(label, starting) for label, (starting, _) in _SPLIT_FAMILIES])
_INNER_TRIGGERS = derive_triggers([inner for _, (_, inner) in _SPLIT_FAMILIES if inner])


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


def _signals(clause: str, scan: Phrases = _SIGNALS) -> _Signals:
    hits: dict[str, list[int]] = {}
    labels = scan.labels
    for match in scan.pattern.finditer(clause):
        kind, start = labels[match.lastindex or 0], match.start()
        if kind == "pending" and ("not" in match.group() or "n't" in match.group()):
            hits.setdefault("negation", []).append(start)  # "not merged yet" also negates
        hits.setdefault(kind, []).append(start)
    return _Signals(hits)


def _done_at(clause: str, signals: _Signals | None, may_act: bool) -> int:
    """Where the clause reports something finished, or -1.

    ``signals`` is None when no trigger word says the scan could find anything; ``may_act``
    False when the clause holds no word a past action ends with.
    """
    start = signals.first("done") if signals else -1
    if start >= 0 or not may_act:
        return start
    first_person = _FIRST_PERSON.search(clause) if ("i " in clause or "we" in clause) else None
    if first_person and _is_past_action(first_person.group(1)):
        return first_person.start(1)
    words = clause.split(maxsplit=1)
    leading = words[0].strip(",.:;!") if words else ""  # a sentence that opens with its verb: "Upgraded to 18."
    if _is_past_action(leading) and leading not in _AMBIGUOUS_PAST:
        return clause.find(leading)
    return -1


def _is_done(clause: str, signals: _Signals | None, may_act: bool, scan: Phrases) -> bool:
    """The clause reports something finished (not negated, not hoped for, not asked)."""
    if clause.rstrip().endswith(("?", "？")):
        return False
    start = _done_at(clause, signals, may_act)
    if start < 0:
        return False
    signals = signals or _signals(clause, scan)  # a past action named: its negations and hopes count
    return not signals.any_between("negation", start - 25, start) and not signals.any_between("hypothetical", 0, start)


def _is_open(from_user: bool, done: bool, signals: _Signals) -> bool:
    """The clause reports a problem or a piece of work that is not finished.

    Anyone's "still failing", "blocked", "pending", "not merged yet" counts; a plain problem
    report ("it crashes") counts from the user, whose problems the session is about, unless the
    same clause says it is ``done`` ("it no longer crashes").
    """
    if signals.has("pending"):
        # an assistant's "pending" opens a loop when it leads ("Pending: …", "Still to do later: …"),
        # not inside an explanation ("pending calls are cancelled on unmount")
        return from_user or signals.first("pending") <= _LEADING_CHARS
    if signals.has("still") and (signals.has("problem") or signals.has("negation")):
        return True
    return from_user and not done and signals.has("problem") and signals.first("hypothetical") != 0


#: How far into an assistant's clause a pending word still leads it.
_LEADING_CHARS = 24


#: Past forms without "-ed" ("ran", "wrote"): a clause opening with one reports an action.
PAST_FORMS = _IRREGULAR_PAST


#: Trigger words of ``_DONE``: an ASCII text holding none names no finish, without the regex.
_DONE_TRIGGERS = derive_triggers([_DONE.pattern])


def says_done(lowered: str, words: set[str] | None = None) -> bool:
    """A finish is named ("fixed", "tests pass", "works now"), whatever qualifies it (``words``:
    the text's ``turn_words`` when the caller has them)."""
    if not _DONE_TRIGGERS.may_match(lowered, words):
        return False  # most clauses: one set look-up instead of the long alternation
    return bool(_DONE.search(lowered))


#: Trigger words of ``_STILL``.
_STILL_TRIGGERS = derive_triggers([_STILL.pattern])


def says_still(lowered: str, words: set[str] | None = None) -> bool:
    """"still", "again" or their French, German, Spanish, Portuguese forms (``words``: the text's
    ``turn_words`` when known: without a trigger among them, no scan)."""
    if not _STILL_TRIGGERS.may_match(lowered, words):
        return False
    return bool(_STILL.search(lowered))


#: Trigger words of ``_PROBLEM``: an ASCII text holding none reports no problem, without the regex.
_PROBLEM_TRIGGERS = derive_triggers([_PROBLEM.pattern])


def is_problem(text: str) -> bool:
    if not _PROBLEM_TRIGGERS.may_match(text):
        return False  # most sentences: a set look-up instead of the long alternation
    return bool(_PROBLEM.search(text))


def is_planned_or_open(sentence: str) -> bool:
    """The sentence (lowercase) says what is still to do or wrong, not what was done."""
    if _PENDING.search(sentence) or _STILL.search(sentence) or _HYPOTHETICAL.search(sentence[:_LEADING_CHARS]):
        return True
    return is_problem(sentence) and not _DONE.search(sentence)


def is_question(sentence: str) -> bool:
    return sentence.endswith(("?", "？")) or bool(_QUESTION_START.match(sentence))


def is_decision(sentence: str) -> bool:
    return bool(_DECISION.search(sentence))


def is_constraint(sentence: str) -> bool:
    return bool(_CONSTRAINT.search(sentence))


_DONE_OR_OPEN = ("pending", "done", "still", "problem")
# Trigger words (see ``triggers``) of the phrases that make a clause done or open and start a
# word (the others are ``_INNER_TRIGGERS``); negations and hypotheticals only qualify those, so a
# clause without any needs no signal scan.
_STARTING_TRIGGERS = derive_triggers([starting for label, (starting, _) in _SPLIT_FAMILIES if label in _DONE_OR_OPEN])
_DECISION_TRIGGERS = derive_triggers([_DECISION.pattern])
_QUESTION_TRIGGERS = derive_triggers([_QUESTION_START.pattern])
_CONSTRAINT_TRIGGERS = derive_triggers([_CONSTRAINT.pattern])
#: A word ending in "ed": with the irregular forms, what a past action ("I fixed", "Ran it") needs.
_ED_WORD = re.compile(r"ed\b")
#: The whole words of ``_CLAUSE_SPLIT``: an ASCII turn without any, nor a ";", is one clause a sentence.
_CLAUSE_WORDS = frozenset("but however although though yet mais aber pero mas".split())


class _TurnCues(NamedTuple):
    """What the rules may find in a turn, from its words: ``None`` where anything may be found."""

    #: Trigger words of the done and open phrases that start a word, present in the turn.
    starting: tuple[str, ...] | None
    #: Triggers of the phrases that may start inside a word: where none occurs, ``_WORD_SIGNALS`` scans.
    inner: tuple[str, ...] | None
    #: Irregular past forms present ("ran", "wrote").
    irregular: tuple[str, ...] | None
    #: A past action may be named: an irregular form or a word ending in "ed" occurs.
    may_act: bool
    #: A user's question may be asked: a "?" or a question word occurs.
    may_ask: bool
    may_split: bool
    may_decide: bool
    may_constrain: bool

    def say_nothing(self) -> bool:
        return not (self.starting or self.inner or self.may_act or self.may_ask or self.may_decide or self.may_constrain)


def _turn_cues(lowered: str, from_user: bool, words: set[str] | None) -> _TurnCues:
    if words is None:  # the look-ups assume ASCII words; the regexes decide alone
        return _TurnCues(
            starting=None,
            inner=None,
            irregular=None,
            may_act=True,
            may_ask=from_user,
            may_split=True,
            may_decide=bool(_DECISION.search(lowered)),
            may_constrain=from_user and bool(_CONSTRAINT.search(lowered)),
        )
    irregular = tuple(words & _IRREGULAR_PAST)
    return _TurnCues(
        starting=tuple(words & _STARTING_TRIGGERS.words),
        inner=_INNER_TRIGGERS.found_in_ascii(words, lowered),
        irregular=irregular,
        may_act=bool(irregular) or bool(_ED_WORD.search(lowered)),
        may_ask=from_user and ("?" in lowered or not words.isdisjoint(_QUESTION_TRIGGERS.words)),
        may_split=";" in lowered or not words.isdisjoint(_CLAUSE_WORDS),
        may_decide=_DECISION_TRIGGERS.any_in_ascii(words, lowered) and bool(_DECISION.search(lowered)),
        may_constrain=from_user and _CONSTRAINT_TRIGGERS.any_in_ascii(words, lowered) and bool(_CONSTRAINT.search(lowered)),
    )


def _holds(low: str, cues: tuple[str, ...] | None) -> bool:
    """Whether a lowercase sentence holds one of a turn's triggers (``None``: not known, so it may)."""
    return cues is None or (bool(cues) and any(map(low.__contains__, cues)))


class Reading(NamedTuple):
    """What one sentence of a turn says (immutable: readings are cached by turn text)."""

    sentence: str
    done: bool = False
    open: bool = False
    question: bool = False
    decision: bool = False
    constraint: bool = False
    #: The sentence before it in its turn (``None`` for the turn's first): context for a terse one.
    previous: str | None = None
    #: The clause that reports the step done / the loop open, in the sentence's own case.
    done_clause: str = ""
    open_clause: str = ""


def _clause_texts(sentence: str, low: str, split: bool) -> list[tuple[str, str]]:
    """(lowercase, original) of each clause: the rules read the first, items quote the second."""
    if not split or not _MAY_SPLIT.search(low):
        return [(low, sentence)]
    spans = [(m.start(), m.end()) for m in _CLAUSE_SPLIT.finditer(low)]
    same_length = len(low) == len(sentence)  # lowercasing kept the offsets (it does but for rare letters)
    parts, start = [], 0
    for begin, end in [*spans, (len(low), len(low))]:
        if low[start:begin].strip():
            parts.append((low[start:begin], sentence[start:begin] if same_length else low[start:begin]))
        start = end
    return parts


def _read_sentence(sentence: str, from_user: bool, cues: _TurnCues, previous: str | None) -> Reading | None:
    low = sentence.lower()
    if cues.may_ask and is_question(low):
        return Reading(sentence, question=True, previous=previous)
    done_clause = open_clause = ""
    inner = _holds(low, cues.inner)
    may_signal = inner or _holds(low, cues.starting)
    may_act = cues.may_act and (cues.irregular is None or bool(_ED_WORD.search(low)) or _holds(low, cues.irregular))
    if may_signal or may_act:
        scan = _SIGNALS if inner else _WORD_SIGNALS
        for part, original in _clause_texts(sentence, low, cues.may_split):
            signals = _signals(part, scan) if may_signal else None
            part_done = _is_done(part, signals, may_act, scan)
            if part_done and from_user and signals is not None and signals.has("problem") and not signals.has("done"):
                part_done = False  # "it won't start since I pulled main": a report, not a step
            if part_done and not done_clause:
                done_clause = original
            if not open_clause and signals is not None and _is_open(from_user, part_done, signals):
                open_clause = original
    decision = cues.may_decide and is_decision(low)
    constraint = cues.may_constrain and is_constraint(low)
    if done_clause or open_clause or decision or constraint:
        return Reading(sentence, bool(done_clause), bool(open_clause), False, decision, constraint, previous, done_clause, open_clause)
    return None


# A pasted log or trace line says nothing about the session's progress ("Finished in 3s"): its
# opening, or a log level anywhere in it (``is_log_line``).
_LOG_LINE = re.compile(
    r"\s*(?:\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\[\s*\w|at [\w.$]+\(|File \"|Caused by|[\w.]+(?:Error|Exception):|"
    r"[│|>$+#{}]|E\s{2,}|(?:def|class|except|import|return|raise|elif|const|let|var|func|fn)\b|"
    r"[\w.\[\]\"']+\s*(?:=|\+=|==)\s|\w+(?:\.\w+)*\(.*\)[;:]?$)"
)
_LOG_LEVEL = re.compile(r".*\b(?:INFO|DEBUG|WARN|WARNING|TRACE)\b")
#: What a log level holds: ``_LOG_LEVEL``'s scan (a backtracking ``.*``) runs only where one occurs.
_LOG_LEVEL_WORDS = ("INFO", "DEBUG", "WARN", "TRACE")


def is_log_line(sentence: str) -> bool:
    if _LOG_LINE.match(sentence):
        return True
    return any(map(sentence.__contains__, _LOG_LEVEL_WORDS)) and bool(_LOG_LEVEL.match(sentence))


#: A list item's marker: the item's own first word is what the rules read ("- Added the index").
_BULLET = re.compile(r"^(?:[-*•]|\d{1,2}[.)]|✅|✔️?)\s+")


def strip_bullet(line: str) -> str:
    return _BULLET.sub("", line)


class Line(NamedTuple):
    """One item of ``sentences(text)`` as the rules and the clause candidates take it."""

    raw: str
    #: Stripped of its blanks, and of its list marker (``strip_bullet``).
    stripped: str
    sentence: str
    #: What the rules read: four characters or more, not a log line.
    readable: bool


@lru_cache(maxsize=4)  # a turn's text is split for its cues and again for its clause candidates
def lines(text: str) -> tuple[Line, ...]:
    """The sentences and lines of ``text`` (``sentences``), each stripped and classified once."""
    found = []
    for raw in sentences(text):
        stripped = raw.strip()
        sentence = strip_bullet(stripped)
        found.append(Line(raw, stripped, sentence, len(sentence) >= 4 and not is_log_line(sentence)))
    return tuple(found)


def turn_words(lowered: str) -> set[str] | None:
    """The words of a lowercase turn, as the look-ups take them; ``None`` unless it is ASCII."""
    return ascii_words(lowered) if lowered.isascii() else None


class Turn(NamedTuple):
    """What the sentences of one turn say."""

    readings: list[Reading]
    #: Its ``first_sentence``, taken from the same split.
    lead: str


def read_turn(text: str, from_user: bool, words: set[str] | None = None) -> Turn:
    """The sentences of one turn that say something, classified, and the turn's first sentence.

    The turn's words (``turn_words``, given when the caller has them) are looked up once: a
    rule family none of whose trigger words occurs is not scanned for, and a sentence holding
    none of the turn's triggers is passed by. Sentences that say nothing are left out (each
    reading names the sentence before it), and a turn without ``any_cue`` is not split at all.
    """
    lowered = text.lower()
    cues = _turn_cues(lowered, from_user, turn_words(lowered) if words is None else words)
    if cues.say_nothing() or not any_cue(lowered):
        return Turn([], first_sentence(text))
    readings = []
    lead = ""
    previous = None
    for raw, _, sentence, readable in lines(text):
        if sentence and not lead:
            lead = raw
        if readable:
            reading = _read_sentence(sentence, from_user, cues, previous)
            if reading:
                readings.append(reading)
            previous = sentence
    return Turn(readings, lead)
