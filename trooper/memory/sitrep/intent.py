"""The session's intent: what the user set out to do, in their own words.

Taken from the first substantive user turn ("i am building a postgres connection pool in go" →
``building a postgres connection pool in go``) and replaced when a later user turn announces a
change of plan ("actually, now i want to …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trooper.memory.sitrep.cues import is_problem
from trooper.memory.triggers import ascii_words, derive_triggers

_ACTIVITIES = (
    "building|writing|working on|migrating|debugging|setting up|creating|developing|implementing|porting|"
    "refactoring|designing|making|adding|analy[sz]ing|fixing|learning|planning|investigating|upgrading|"
    "deploying|testing|trying to|looking into|looking for|putting together|converting|cleaning|training|"
    "benchmarking|profiling|automating|moving|rewriting|preparing|evaluating|comparing|reviewing|exploring"
).replace(" ", r"\s+")  # the patterns below are verbose: spaces must be explicit
_IMPERATIVES = (
    "make|fix|add|write|create|build|set up|upgrade|migrate|review|implement|refactor|update|remove|delete|find|"
    "explain|analy[sz]e|convert|move|deploy|install|configure|generate|optimi[sz]e|speed up|debug|investigate|"
    "port|rename|replace|document|design|plan|translate|summari[sz]e|draft|split|finish|clean up|get|rewrite|"
    "continue|bump|run|check|show|tell|give|switch|enable|disable|wire|pin|sort out"
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
    |{_OPENING}(?:please\s+)?(?P<imperative>(?:{_IMPERATIVES})\b(?!\s+(?:went|is|was|are|were|has|had|took|\w+ed)\b).*)
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
# A word that may announce a change of plan ("actually", "instead"): the new task must be said
# as a request or a problem.
_REFINEMENT = re.compile(
    r"(?:(?:^|[.!?,;:]\s*|\b(?:oh|ok|okay|hmm|but|so|wait)\s+)actually\b)"  # not "what we actually want"
    r"|\b(?:instead|scratch that|pivot|switching to|forget (?:that|the)|on second thought|"
    r"different approach|(?<!for )now i (?:want|need)|(?<!for )now we (?:want|need)|while i'm (?:here|at it)|"
    r"while we're at it)\b"
)
# A phrase that announces a new task: what follows it is the task, however it is said.
_NEW_TASK = re.compile(
    r"\b(?:change of plan|new plan|new (?:task|thing|question|topic)|next (?:task|thing|up)|"
    r"different (?:question|thing|topic)|unrelated|(?:one|another) more thing|another (?:thing|question|task)|"
    r"switching gears|moving on|separate (?:issue|question|thing)|other thing|totally different|"
    r"otra cosa|otra pregunta|autre chose|autre question|andere frage|noch (?:was|etwas)|outra coisa|outra pergunta)\b"
)
_REFINED = re.compile(
    rf"""\b(?:(?:i|we)\s+(?:now\s+)?(?:want|need|would\s+like|'d\s+like)\s+to\s+(?P<wish>.*)
    |(?:i\s+am|i'm|we\s+are|we're)\s+(?:now\s+)?(?P<activity>(?:{_ACTIVITIES})\b.*)
    |(?:goal|plan|task)\s+is\s+(?:now\s+)?to\s+(?P<goal>.*))""",
    re.VERBOSE,
)
_REFINEMENT_TRIGGERS = derive_triggers([_REFINEMENT.pattern, _NEW_TASK.pattern])
#: The part of a turn read for its intent. A longer turn, cut there, may end in a trigger cut
#: from a longer word, so the trigger look-up spares only turns no longer than this.
_READ_CHARS = 600
_CLAUSE_END = re.compile(
    r"[.!?](?:\s|$)|[;\n。！？、]|\s+(?:but|because|so that|since|even though)\s"
)
_LEADING_NOISE = re.compile(
    r"^(?:(?:hi|hello|hey|ok|okay|so|well|yo|please|thanks|thank you|hola|hallo|bonjour|salut|olá|oi|ciao|moin|"
    r"servus|guten (?:morgen|tag)|buenos días|buenas)\b[\s,!.]*)+"
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_PRONOUN_OBJECT = frozenset("it this that them these those".split())
#: Pronouns that stand for an object wherever they are ("that" may open a relative clause).
_PRONOUNS = _PRONOUN_OBJECT - {"that"}
MIN_WORDS = 5
_WORD = re.compile(r"[\w'+#.%$/-]+")
_TRYING = re.compile(r"^trying\s+to\s+")
MAX_INTENT_WORDS = 20
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
#: Sentences of the first turn a guess looks at for a problem before taking the first clause.
_GUESS_SENTENCES = 4


@dataclass
class IntentMatch:
    text: str
    #: The turn said what it wants in so many words (not a fallback to its first sentence).
    explicit: bool
    #: Only the turn's first clause: a later turn that asks for something says more.
    guess: bool = False


def _clause(text: str) -> str:
    end = _CLAUSE_END.search(text)
    clause = text[: end.start()] if end else text
    words = _WORD.findall(clause)[:MAX_INTENT_WORDS]
    return " ".join(words).strip(" .,'-")


def _substantive(text: str) -> bool:
    """Long enough to state a purpose: five words, or six CJK characters."""
    return len(text.split()) >= MIN_WORDS or len(_CJK.findall(text)) >= 6


# What a user pastes rather than says: fenced code, and log, trace or code lines.
_FENCE_LINE = re.compile(r"\s*```")
_PASTED_LINE = re.compile(
    r"\s*(?:\d{4}[-/]\d\d[-/]\d\d|\d\d:\d\d:\d\d|\[\s*\w|at [\w.$<>]+[(\s]|File \"|Traceback|Caused by|"
    r"[│|>$+#{}]|E\s{2,}|\s{4}|\t)"
)
# The line of a paste that names what went wrong ("error[E0502]: cannot borrow…", "java.lang.NoSuchMethodError: …").
_ERROR_LINE = re.compile(
    r"\s*(?:[\w.$/-]+:\s*)*(?:[\w.]*(?:Error|Exception)|error|fatal|panic|FAIL)\b|[^=(]*:\s[^=(]*\berror\b", re.IGNORECASE
)
# A log line: its error names a moment, not the problem ("2024/05/12 19:04:31 [error] connect() failed").
_LOG_LINE = re.compile(r"\s*(?:\d{4}[-/]\d\d[-/]\d\d|\d\d:\d\d:\d\d|\[|\d+\s*\|)")
#: Words of a paste's error line kept beside the sentence that introduces the paste.
_ERROR_WORDS = 10
#: Words of a problem or opening sentence kept beside a vague request.
_CONTEXT_WORDS = 16
# Words that name nothing: a question or request made only of them is vague ("what can you do?",
# "any idea what's going on?", "woran liegt das?").
_EMPTY_WORDS = frozenset(
    """a an the it this that them these those what whats what's how why where when which who can could would
    should will do does did is are was be i me my we our you your to of for in on at with and or any
    anything whatever idea ideas going get got rid properly pls please thx thanks now just here there so some
    way work works happen happening wrong on up out help
    qué que hago pasa esto eso por woran liegt das was ist mache ich c'est quoi faire je fais ça o
    faço isso""".split()
)


def _prose(text: str) -> str:
    """What the user wrote in their own words: pasted code, logs and traces left out, except the
    line of a paste that names its error, read as the end of the sentence before the paste."""
    lines: list[str] = []
    fenced = kept = False
    for line in text.splitlines():
        if _FENCE_LINE.match(line):
            fenced = not fenced
            continue
        if fenced or _PASTED_LINE.match(line):
            if not kept and lines and _ERROR_LINE.match(line) and not _LOG_LINE.match(line):
                lines[-1] = lines[-1].rstrip(" .:") + ": " + " ".join(line.split()[:_ERROR_WORDS])
                kept = True
            continue
        if lines and lines[-1].endswith(":") and _ERROR_LINE.match(line):  # "… dies on the first request:" and the error
            lines[-1] = lines[-1].rstrip(" .:") + ": " + " ".join(line.split()[:_ERROR_WORDS])
            kept = True
        elif line.strip():
            kept = False
            lines.append(line)
    return "\n".join(lines)


# Trouble the cue families leave to context, which a first turn reporting a problem means:
# "the app dies", "the footer doesn't stick", "we get 502s".
_TROUBLE = re.compile(
    r"\b(?:dies|died|dying|doesn't|does not|won't|isn't|aren't|no longer|[45]\d\ds?|keeps? \S+ing|forever|collaps(?:es|ed|ing))\b"
    r"|(?<!\bi )(?<!\bwe )(?<!\byou )\b(?:don't|do not)\b"
)


def _troubled(sentence: str) -> bool:
    return is_problem(sentence) or bool(_TROUBLE.search(sentence))


def _context(sentence: str) -> str:
    """A sentence as context for a vague request: up to its end, not cut at "since" or "but"."""
    return " ".join(_WORD.findall(sentence)[:_CONTEXT_WORDS]).strip(" .,'-")


def _vague(clause: str) -> bool:
    """Names no object of its own: "fix it pls", "any idea what's going on", "make it fast"."""
    words = _WORD.findall(clause)
    opening = next((index for index, word in enumerate(words) if word not in _EMPTY_WORDS), len(words))
    if _PRONOUN_OBJECT.intersection(words[opening + 1 : opening + 2]) or _PRONOUNS.intersection(words):
        return True  # "make it fast", "fix that", "clean up x so it passes" (not "a query that takes 45s")
    # the request's verb ("find the race") names no object either
    return len(set(words[opening + 1 :]) - _EMPTY_WORDS) < 2


def _asked(sentence: str) -> tuple[str, bool] | None:
    """What one sentence asks for (a request's object, a question), and whether that names
    nothing without the problem the turn reports; ``None`` when it asks for nothing."""
    match = _REQUEST.search(sentence)
    if match:
        clause = _TRYING.sub("", _clause(next(group for group in match.groups() if group is not None)))
        if not _vague(clause):
            return clause, False
        # "our workflow takes 14 minutes, i want to get it under 5": the sentence names the object
        before = _WORD.findall(sentence[: match.start(match.lastgroup or 0)])
        return _context(sentence), len(set(before) - _EMPTY_WORDS) < 2
    if sentence.endswith(("?", "？")):
        question = _context(sentence)
        return question, _vague(question)
    return None


def read_intent(text: str) -> IntentMatch | None:
    """The intent a user turn states, a weaker guess from its first clause, or ``None``.

    Read sentence by sentence, pasted code and logs aside: the first request or question is the
    intent; one too vague to name its object ("fix it pls", "any idea what's going on?") is
    read beside the problem the turn reports, or its opening. Without a request, what the user
    is doing ("i'm building …"), then the problem reported (``fix: <the problem>``), then the
    first clause.
    """
    prose = _prose(text[: _READ_CHARS * 2])
    sentences = [_LEADING_NOISE.sub("", " ".join(part.lower().split())) for part in _SENTENCE.split(prose)]
    sentences = [sentence for sentence in sentences if sentence][:_GUESS_SENTENCES * 2]
    if not sentences:
        return None
    problem = next((s for s in sentences if len(s.split()) >= 3 and _troubled(s) and not _REQUEST.match(s)), None)
    for index, sentence in enumerate(sentences):
        found = _asked(sentence)
        if not found:
            continue
        asked, vague = found
        if vague:
            # "fix it and open a PR", "make it fast": the problem or the opening says what "it" is
            context = problem if problem != sentence else None
            context = context or (sentences[0] if index else "")
            if len(context.split()) < 3:  # "nice. anything to watch out for?" names nothing
                continue
            asked = f"{asked}: {_context(context)}"
        return IntentMatch(" ".join(asked.split()[: MAX_INTENT_WORDS + 6]), explicit=True)
    lowered = " ".join(sentences)
    match = _ACTIVITY.search(lowered)
    if match:
        clause = _TRYING.sub("", _clause(next(group for group in match.groups() if group is not None)))
        if len(set(clause.split()) - _PRONOUN_OBJECT) >= 2 and not _PRONOUN_OBJECT.intersection(clause.split()[1:2]):
            return IntentMatch(clause, explicit=True)  # not "debugging it, here is the log"
    if not _substantive(lowered):
        return None
    if problem:  # "we get 502s from the ALB under load": the problem is what the user wants gone
        return IntentMatch("fix: " + _context(problem), explicit=False)
    clauses = [_clause(sentence) for sentence in sentences[:_GUESS_SENTENCES]]
    clause = next((c for c in clauses if len(c.split()) >= 3), clauses[0])
    return IntentMatch(clause, explicit=False, guess=True) if clause else None


def read_refinement(text: str, words: set[str] | None = None) -> str | None:
    """A new intent announced by a later user turn, or ``None``.

    ``words``: the turn's words when known (``cues.turn_words``): without a trigger word of
    ``_REFINEMENT`` or ``_NEW_TASK`` among them, the turn announces nothing.
    """
    if words is not None and len(text) <= _READ_CHARS and words.isdisjoint(_REFINEMENT_TRIGGERS.words):
        return None
    if words is not None and len(text) > _READ_CHARS:
        # the part read, with its own words (the cut may make a trigger of a longer word's start)
        head = text[:_READ_CHARS].lower()
        if not _REFINEMENT_TRIGGERS.any_in_ascii(ascii_words(head), head):
            return None
    lowered = " ".join(text[:_READ_CHARS].lower().split())
    new_task = _NEW_TASK.search(lowered)
    if new_task:  # "different thing: the footer doesn't stick to the bottom"
        found = read_intent(lowered[new_task.end() :].lstrip(" ,:;.-"))
        if found:
            return found.text
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
