"""The session's intent: what the user set out to do, in their own words.

Taken from the first substantive user turn ("i am building a postgres connection pool in go" →
``building a postgres connection pool in go``) and replaced when a later user turn announces a
change of plan ("actually, now i want to …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trooper.memory.sitrep.cues import is_problem
from trooper.memory.triggers import derive_triggers

_ACTIVITIES = (
    "building|writing|working on|migrating|debugging|setting up|creating|developing|implementing|porting|"
    "refactoring|designing|making|adding|analy[sz]ing|fixing|learning|planning|investigating|upgrading|"
    "deploying|testing|trying to|looking into|looking for|putting together|converting|cleaning|training|"
    "benchmarking|profiling|automating|moving|rewriting|preparing|evaluating|comparing|reviewing|exploring"
).replace(" ", r"\s+")  # the patterns below are verbose: spaces must be explicit
_IMPERATIVES = (
    "make|fix|add|write|create|build|set up|upgrade|migrate|review|implement|refactor|update|remove|delete|find|"
    "explain|analy[sz]e|convert|move|deploy|install|configure|generate|optimi[sz]e|speed up|debug|investigate|"
    "port|rename|replace|document|design|plan|translate|summari[sz]e|draft|split|finish|clean up|get|rewrite"
).replace(" ", r"\s+")
# "-ing" verbs that report a state, not a purpose ("we're seeing latency spikes").
_NOT_ACTIVITIES = (
    "seeing|getting|having|hitting|experiencing|facing|noticing|using|running|going|wondering|thinking|feeling|"
    "being|doing|stuck|struggling|coming|sitting|waiting"
)
# What the user asks for: a request, a question, a wish. Each may open a sentence or follow a
# comma or a connective ("I'm writing a service for X, how do I set up Y?").
_OPENING = r"(?:^|[.!?,;:]\s+|\b(?:so|but|and|now)\s+)"
_REQUEST = re.compile(
    rf"""
    \b(?:i|we)\s+(?:really\s+|just\s+)?(?:want|need|would\s+like|'d\s+like|wanna)\s+to\s+(?P<wish>.*)
    |\b(?:je\s+veux|je\s+voudrais|j'aimerais|ich\s+möchte|ich\s+will|wir\s+wollen|quiero|necesito|
        eu\s+quero|quero|preciso|gostaria\s+de)\s+(?P<wish_other>.*)
    |{_OPENING}(?:comment\s+(?:puis-je|faire\s+pour|je\s+peux)|wie\s+kann\s+ich|cómo\s+puedo|como\s+posso)\s+(?P<howto_other>.*)
    |\b(?:my|our)\s+(?:goal|task|plan|job)\s+is\s+to\s+(?P<goal>.*)
    |\b(?:my|our)\s+(?:boss|manager|team|client|customer|lead|pm)\s+(?:wants|needs)\s+(?:me\s+to\s+|us\s+to\s+)?(?P<asked>.*)
    |{_OPENING}(?:i\s+|we\s+)?(?:really\s+)?(?:want|need)\s+(?!to\b)(?P<want>(?:a|an|the|some|to|my|our|\w+/)\S*\s.*|\w+.*)
    |\b(?:help\s+me|can\s+you\s+help\s+me|could\s+you\s+help\s+me)(?:\s+to|\s+with)?\s+(?P<help>.*)
    |{_OPENING}(?:please\s+)?(?:can|could|would)\s+you\s+(?:please\s+)?(?P<request>.*)
    |{_OPENING}how\s+(?:do|can|should|would)\s+(?:i|we|you|people|one)\s+(?:actually\s+)?(?P<howto>.*)
    |{_OPENING}(?:what(?:'s|\s+is)\s+the\s+best\s+way|is\s+there\s+a\s+way)\s+to\s+(?P<way>.*)
    |{_OPENING}(?:let's|lets|let\s+us)\s+(?P<lets>.*)
    |{_OPENING}(?:please\s+)?(?P<imperative>(?:{_IMPERATIVES})\b.*)
    """,
    re.VERBOSE,
)
# What the user is doing: background that states a purpose when no request does.
_ACTIVITY = re.compile(
    rf"""
    \b(?:i\s+am|i'm|im|we\s+are|we're|i've\s+been|we've\s+been)\s+(?:currently\s+|now\s+|still\s+)?
        (?P<activity>(?:{_ACTIVITIES}|(?!{_NOT_ACTIVITIES})[a-z]+ing)\b.*)
    |\b(?:i|we)\s+have\s+to\s+(?P<duty>.*)
    """,
    re.VERBOSE,
)
_REFINEMENT = re.compile(
    r"\b(?:actually|instead|change of plan|scratch that|new plan|pivot|switching to|forget (?:that|the)|"
    r"on second thought|different approach|now i (?:want|need)|now we (?:want|need)|"
    r"new (?:task|thing|question|topic)|next (?:task|thing|up)|different (?:question|thing|topic)|unrelated|"
    r"(?:one|another) more thing|another (?:thing|question|task)|while i'm (?:here|at it)|while we're at it|"
    r"switching gears|moving on|separate (?:issue|question|thing)|other thing|totally different)\b"
)
_REFINED = re.compile(
    rf"""\b(?:(?:i|we)\s+(?:now\s+)?(?:want|need|would\s+like|'d\s+like)\s+to\s+(?P<wish>.*)
    |(?:i\s+am|i'm|we\s+are|we're)\s+(?:now\s+)?(?P<activity>(?:{_ACTIVITIES})\b.*)
    |(?:goal|plan|task)\s+is\s+(?:now\s+)?to\s+(?P<goal>.*))""",
    re.VERBOSE,
)
_REFINEMENT_TRIGGERS = derive_triggers([_REFINEMENT.pattern])
#: The part of a turn read for its intent. A longer turn, cut there, may end in a trigger cut
#: from a longer word, so the trigger look-up spares only turns no longer than this.
_READ_CHARS = 600
_CLAUSE_END = re.compile(
    r"[.!?](?:\s|$)|[;\n。！？、]|\s+(?:but|because|so that|since|even though)\s"
)
_LEADING_NOISE = re.compile(r"^(?:(?:hi|hello|hey|ok|okay|so|well|yo|please|thanks|thank you)\b[\s,!.]*)+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_PRONOUN_OBJECT = frozenset("it this that them these those".split())
MIN_WORDS = 5
_WORD = re.compile(r"[\w'+#.%$/-]+")
_TRYING = re.compile(r"^trying\s+to\s+")
MAX_INTENT_WORDS = 20
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
#: Sentences of the first turn a guess looks at for a problem before taking the first clause.
_GUESS_SENTENCES = 4
#: A request this short names its object elsewhere ("fix pls", "find the race").
_VAGUE_WORDS = 3


@dataclass
class IntentMatch:
    text: str
    #: The turn said what it wants in so many words (not a fallback to its first sentence).
    explicit: bool


def _clause(text: str) -> str:
    end = _CLAUSE_END.search(text)
    clause = text[: end.start()] if end else text
    words = _WORD.findall(clause)[:MAX_INTENT_WORDS]
    return " ".join(words).strip(" .,'-")


def _substantive(text: str) -> bool:
    """Long enough to state a purpose: five words, or six CJK characters."""
    return len(text.split()) >= MIN_WORDS or len(_CJK.findall(text)) >= 6


def read_intent(text: str) -> IntentMatch | None:
    """The intent a user turn states, a weaker guess from its first clause, or ``None``.

    A first clause that reports a problem reads as ``fix: <the problem>``.
    """
    lowered = _LEADING_NOISE.sub("", " ".join(text[:_READ_CHARS].lower().split()))
    if not lowered:
        return None
    for pattern in (_REQUEST, _ACTIVITY):  # what is asked for before what is being done
        match = pattern.search(lowered)
        if match:
            clause = _TRYING.sub("", _clause(next(group for group in match.groups() if group is not None)))
            words = set(clause.split())
            if len(words - _PRONOUN_OBJECT) < 2:
                continue
            if match.start() > 0 and (words & _PRONOUN_OBJECT or len(words) <= _VAGUE_WORDS):
                # "fix it and open a PR", "make it fast": the turn's opening says what "it" is
                opening = _clause(lowered)
                clause = opening if clause in opening else f"{clause}: {opening}"
            return IntentMatch(" ".join(clause.split()[:MAX_INTENT_WORDS + 6]), explicit=True)
    if not _substantive(lowered):
        return None
    clauses = [_clause(part) for part in _SENTENCE.split(lowered)[:_GUESS_SENTENCES]]
    problem = next((c for c in clauses if len(c.split()) >= 3 and is_problem(c)), None)
    if problem:  # "we get 502s from the ALB under load": the problem is what the user wants gone
        return IntentMatch("fix: " + problem, explicit=False)
    clause = next((c for c in clauses if len(c.split()) >= 3), clauses[0] if clauses else "")
    return IntentMatch(clause, explicit=False) if clause else None


def read_refinement(text: str, words: set[str] | None = None) -> str | None:
    """A new intent announced by a later user turn, or ``None``.

    ``words``: the turn's words when known (``cues.turn_words``): without a trigger word of
    ``_REFINEMENT`` among them, the turn announces nothing.
    """
    if words is not None and len(text) <= _READ_CHARS and words.isdisjoint(_REFINEMENT_TRIGGERS.words):
        return None
    lowered = " ".join(text[:_READ_CHARS].lower().split())
    trigger = _REFINEMENT.search(lowered)
    if not trigger:
        return None
    match = _REFINED.search(lowered) or _REQUEST.search(lowered)
    if match:
        clause = _clause(next(group for group in match.groups() if group is not None))
        if len(clause.split()) >= 2:
            return clause
    # "while I'm here, the jest test for this component is flaky": a new problem is the new task
    clause = _clause(lowered[trigger.end() :].lstrip(" ,:;-"))
    return f"fix: {clause}" if len(clause.split()) >= 3 and is_problem(clause) else None
