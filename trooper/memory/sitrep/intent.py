"""The statements of a goal a user turn offers, for the intent model to choose from.

A turn is read sentence by sentence in the user's own words (pasted code and logs aside): each
sentence offers itself whole, its request or question cut from the request's verb on ("hi! so
i've been on this for a while and can you set up a pool with timeouts" → ``set up a pool with
timeouts``), that request beside the problem the turn reports or the sentence before it, what the
user is doing ("building a postgres connection pool in go") and the problem it reports. Each
candidate carries shape features only (its kind, its place, its length, a question mark, the
request's form, a preamble before it, a greeting, a paste, a change of task before it);
``intent_choice`` scores them. The phrase patterns below are the multilingual lexicon the
features come from.
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
    |\b(?:help\s+me|can\s+you\s+help\s+me|could\s+you\s+help\s+me|hilf\s+mir|ayúdame|aide-moi|me\s+ajuda)
        (?:\s+to|\s+with|\s+bei|\s+a|\s+con|\s+à|\s+com)?\s+(?P<help>.*)
    |{_OPENING}¿?(?:please\s+|bitte\s+)?(?:(?:can|could|would)\s+you|kannst\s+du|könntest\s+du|können\s+sie|könnten\s+sie|
        (?:me\s+)?puedes|(?:me\s+)?podrías|peux-tu|pourrais-tu|pouvez-vous|pourriez-vous|você\s+pode|você\s+poderia|
        vc\s+pode|pode\s+me|poderia\s+me)\s+(?:mir\s+|uns\s+)?(?:please\s+|bitte\s+|por\s+favor\s+|s'il\s+te\s+plaît\s+)?
        (?P<request>.*)
    |{_OPENING}how\s+(?:do|can|should|would)\s+(?:i|we|you|people|one)\s+(?:actually\s+)?(?P<howto>.*)
    |{_OPENING}(?:what(?:'s|\s+is)\s+the\s+best\s+way|is\s+there\s+a\s+way)\s+to\s+(?P<way>.*)
    |{_OPENING}(?:let's|lets|let\s+us)\s+(?P<lets>.*)
    |{_OPENING}(?:please\s+)?(?P<imperative>(?:{_IMPERATIVES})\b(?!\s+(?:went|is|was|are|were|has|had|took|\w+ed)\b).*)
    """,
    re.VERBOSE,
)
# Where a match of ``_REQUEST`` may start, besides the sentence's start: an opening's punctuation
# or connective, or the first word of an alternative that opens with ``\b`` (each followed by a
# blank or an apostrophe, so a whole word). ``_REQUEST`` tries its twelve alternatives at every
# position; matched at these alone, it finds the same match four times faster.
_REQUEST_STARTS = re.compile(
    r"[.!?,;:](?=\s)|\b(?:so|but|and|now|i|we|je|j|ich|wir|quiero|necesito|eu|quero|preciso|gostaria|my|our|"
    r"help|can|could|hilf|ayúdame|aide|me)\b"
)


def _find_request(sentence: str) -> re.Match[str] | None:
    """``_REQUEST.search(sentence)``: the leftmost match, tried only where one may start."""
    found = _REQUEST.match(sentence)
    starts = _REQUEST_STARTS.finditer(sentence)
    while found is None:
        start = next(starts, None)
        if start is None:
            return None
        found = _REQUEST.match(sentence, start.start())
    return found


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
    r"|\b(?:instead(?! of\b)|scratch that|pivot|switching to|forget (?:that|the)|on second thought|"
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
_PRONOUN_OBJECT = frozenset("it this that them these those".split())
#: Pronouns that stand for an object wherever they are ("that" may open a relative clause).
_PRONOUNS = _PRONOUN_OBJECT - {"that"}
_WORD = re.compile(r"[\w'+#.%$/-]+")
_TRYING = re.compile(r"^trying\s+to\s+")
MAX_INTENT_WORDS = 20
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

def _clause(text: str) -> str:
    end = _CLAUSE_END.search(text)
    clause = text[: end.start()] if end else text
    words = _WORD.findall(clause)[:MAX_INTENT_WORDS]
    return " ".join(words).strip(" .,'-")


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
#: Text every alternative of ``_TROUBLE`` holds (a status code's first digit for ``[45]\d\d``):
#: a sentence holding none is not scanned.
_TROUBLE_LITERALS = (
    "die", "dying", "doesn't", "does not", "won't", "isn't", "aren't", "no longer", "4", "5", "keep", "forever",
    "collaps", "don't", "do not",
)


def _troubled(sentence: str) -> bool:
    if sentence.startswith(("don't ", "do not ")):  # "don't change the public api": a constraint
        return is_problem(sentence)
    return is_problem(sentence) or (any(map(sentence.__contains__, _TROUBLE_LITERALS)) and bool(_TROUBLE.search(sentence)))


def _troubled_once(sentence: str, known: dict[str, bool]) -> bool:
    """``_troubled``, each sentence of a turn tested once (the problem scan and the sentence's own
    candidates both ask)."""
    found = known.get(sentence)
    if found is None:
        found = known[sentence] = _troubled(sentence)
    return found


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


def _bucket(count: int, edges: tuple[int, ...]) -> str:
    """``count`` as the first edge it does not pass ("<=3", "<=12", ">20"): lengths as shapes."""
    for edge in edges:
        if count <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


@dataclass(frozen=True)
class Candidate:
    """One way of stating a turn's goal, with the shape features the intent model weighs."""

    text: str
    #: ``kind=…`` (request, question, activity, problem, the sentence whole…), where it sits in
    #: the turn, its length, what the turn around it looks like: never the words themselves.
    features: tuple[str, ...]
    #: Read in or after a phrase that changes the task ("different thing:", "actually … instead").
    changes_task: bool = False


#: Sentences of a turn read for candidates: the goal is stated early.
_CANDIDATE_SENTENCES = 8
#: Sentences read from a later turn's change of task on: the new task is said right after it.
_CHANGE_SENTENCES = 3
_WORD_EDGES = (3, 6, 12, 20)
#: Sentence features also crossed with the candidate's kind: whether a request names its object
#: tells a request apart from the sentence whole, not from a problem.
_CROSSED = ("vague", "named", "preamble", "question", "troubled")
_SHAPES = (
    ("path", re.compile(r"[\w-]/[\w.-]|\.(?:py|go|rs|ts|tsx|js|java|rb|cs|yml|yaml|json|toml|sh|sql|tf)\b")),
    ("code", re.compile(r"`|\w_\w|[a-z][A-Z]|\(\)")),
    ("digit", re.compile(r"\d")),
)
#: Characters each shape needs (its every alternative holds one): a sentence without any is not
#: searched. A sentence is read lower-cased, so "code" never meets a capital.
_SHAPE_MARKS = {"path": ("/", "."), "code": ("`", "_", "()"), "digit": ()}


def _sentence_candidates(
    sentence: str, problem: str | None, earlier: list[str], shared: list[str], troubles: dict[str, bool]
) -> list[tuple[str, list[str]]]:
    """What one sentence offers as the goal, each with its features: the sentence whole (its
    request first when a preamble leads to it), its request or question (cut from the request's
    verb on: the preamble dropped), alone or beside the problem the turn reports or the sentence
    before it (``earlier``: the sentences of the task before this one), what the user is doing,
    the problem itself (``troubles``: the turn's sentences known to report trouble or not)."""
    features = shared + [f"words{_bucket(len(sentence.split()), _WORD_EDGES)}"]
    features += [
        name for name, shape in _SHAPES if (not _SHAPE_MARKS[name] or any(map(sentence.__contains__, _SHAPE_MARKS[name]))) and shape.search(sentence)
    ]
    troubled = _troubled_once(sentence, troubles)
    if troubled:
        features.append("troubled")
    question = sentence.endswith(("?", "？"))
    if question:
        features.append("question")
    whole = _context(" ".join(_WORD.findall(sentence)[:MAX_INTENT_WORDS]))
    found: list[tuple[str, list[str]]] = [(whole, ["kind=whole"])]
    request = _find_request(sentence)
    asked = ""
    if request:
        asked = _TRYING.sub("", _clause(next(group for group in request.groups() if group is not None)))
        preamble = _WORD.findall(sentence[: request.start()])
        features += [f"request={request.lastgroup}", f"preamble{_bucket(len(preamble), (0, 3, 8))}"]
        if len(preamble) >= 3:  # the sentence whole, the request first: the goal in the first words
            found[0] = (f"{' '.join(asked.split()[:12])}: {_context(' '.join(preamble))}", ["kind=request+preamble"])
    elif question:
        asked = _context(sentence)
    if asked:
        kind = "request" if request else "question"
        features.append("vague" if _vague(asked) else "named")
        found.append((asked, [f"kind={kind}"]))
        head = " ".join(asked.split()[:12])
        contexts = (("problem", problem if problem != sentence else None), ("opening", earlier[0] if earlier else None),
                    ("previous", earlier[-1] if earlier else None))
        for name, context in contexts:
            if context and len(context.split()) >= 3:
                found.append((f"{head}: {_context(context)}", [f"kind={kind}+{name}"]))
    activity = _ACTIVITY.search(sentence)
    if activity:
        clause = _TRYING.sub("", _clause(next(group for group in activity.groups() if group is not None)))
        vague = len(set(clause.split()) - _PRONOUN_OBJECT) < 2 or bool(_PRONOUN_OBJECT.intersection(clause.split()[1:2]))
        found.append((clause, ["kind=activity", "activity_vague" if vague else "activity_named"]))
    if troubled:
        found.append(("fix: " + whole, ["kind=problem"]))
    crossed = [feature for feature in features if feature.startswith(_CROSSED)]
    return [
        (text, [*features, *marks, *_text_shape(text), *(f"{marks[0]}&{feature}" for feature in crossed + marks[1:])])
        for text, marks in found
        if len(text.split()) >= 2
    ]


def _text_shape(text: str) -> list[str]:
    """How much the candidate itself says: its length and how many of its words name something."""
    words = text.split()
    content = len(set(words) - _EMPTY_WORDS)
    return [f"text{_bucket(len(words), _WORD_EDGES)}", f"content{_bucket(content, (1, 3, 6))}"]


def _changes_task(sentence: str) -> re.Match[str] | None:
    if not _REFINEMENT_TRIGGERS.may_match(sentence):
        return None  # most sentences: no trigger word of either pattern
    return _NEW_TASK.search(sentence) or _REFINEMENT.search(sentence)


def read_candidates(text: str, changes_only: bool = False) -> tuple[Candidate, ...]:
    """Every statement of a goal a user turn offers (``Candidate``), in the order it says them.

    Read sentence by sentence in what the user wrote themselves (pasted code and logs aside, but
    a paste's error line kept, greetings dropped); what follows a phrase that changes the task
    ("different thing:", "actually", "instead") is marked so. ``changes_only``: only from the
    first such phrase on (a later turn offers a goal only by changing the task).
    """
    prose = _prose(text[: _READ_CHARS * 2])
    raw = [" ".join(part.lower().split()) for part in _SENTENCE.split(prose)]
    raw = [sentence for sentence in raw if sentence]
    stripped = [_LEADING_NOISE.sub("", sentence) for sentence in raw]
    sentences = [sentence for sentence in stripped if sentence][:_CANDIDATE_SENTENCES]
    if changes_only:
        start = next((i for i, s in enumerate(sentences) if _changes_task(s)), len(sentences))
        sentences = sentences[start : start + _CHANGE_SENTENCES]
    if not sentences:
        return ()
    shared = [f"sentences{_bucket(len(sentences), (1, 3))}"]
    if stripped[0] != raw[0]:  # "hi!", "ok so", "hola": the turn opens on a greeting or filler
        shared.append("greeted")
    if len(prose) * 2 < min(len(text), _READ_CHARS * 2):
        shared.append("pasted")
    troubles: dict[str, bool] = {}
    problem = next((s for s in sentences if len(s.split()) >= 3 and _troubled_once(s, troubles) and not _REQUEST.match(s)), None)
    candidates: dict[str, Candidate] = {}
    changed = False
    task: list[str] = []  # the sentences of the task read so far: a change of task starts anew
    for index, sentence in enumerate(sentences):
        place = [f"sentence={min(index, 3)}", *(["last"] if index == len(sentences) - 1 else []), *shared]
        parts = [(sentence, place + (["after_change"] if changed else []))]
        change = _changes_task(sentence)
        if change:
            kind = "new_task" if change.re is _NEW_TASK else "change"
            rest = sentence[change.end() :].lstrip(" ,:;.-")
            parts = [(sentence, place + [f"{kind}_sentence"])]
            if len(rest.split()) >= 2:
                parts.append((rest, place + [f"after_{kind}"]))
        for part, features in parts:
            moved = changed or part is not sentence or bool(change)
            for found, marks in _sentence_candidates(part, problem, task, features, troubles):
                candidates.setdefault(found, Candidate(found, tuple(marks), moved))
        if change:
            changed, task = True, [parts[-1][0]] if len(parts) > 1 else []
        else:
            task.append(sentence)
    forms = _written_forms(prose)
    schemes = {scheme.lower() for scheme in _SCHEME.findall(prose)} if "://" in prose else set()
    if not forms and not schemes:
        return tuple(candidates.values())
    return tuple(Candidate(_shown(c.text, forms, schemes), c.features, c.changes_task) for c in candidates.values())


def _shown(text: str, forms: dict[str, str], schemes: set[str]) -> str:
    """A candidate as the user wrote it: each word in its written form, and the URLs of the turn
    whole again (``_WORD`` reads "https://api…" as "https", "//api…"). Display only: the words the
    model and the scorer read are the same."""
    if forms:
        text = _WORD.sub(lambda word: forms.get(word.group(), word.group()), text)
    if schemes:
        text = _SPLIT_SCHEME.sub(lambda m: m.group(1) + ("://" if m.group(1).lower() in schemes else " //"), text)
    return text


#: A URL's scheme, before its "://"; and as ``_WORD`` leaves it, apart from the rest of the address.
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]{1,15})://", re.IGNORECASE)
_SPLIT_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]{1,15}) //(?=\S)", re.IGNORECASE)


#: A word as ``_WORD`` reads it that holds a capital (of the Latin letters): the words whose
#: written form is kept; found in C, so a turn without one costs one scan.
_CAPITALISED = re.compile(r"(?<![\w'+#.%$/-])[\w'+#.%$/-]*[A-ZÀ-ÖØ-Þ][\w'+#.%$/-]*")
#: What ends a word at a sentence's end ("Vitest."): a candidate's word does not hold it.
_WORD_END = ".'-"


def _written_forms(prose: str) -> dict[str, str]:
    """How the user writes each word they wrote with a capital ("CSRF", "FlatList", "Django"),
    by its lower-case form: candidates are read lower-cased and shown as written. A capital that
    only opens a sentence is no form of its own; a word written both ways takes the commoner way
    (the first written, on a tie: the user's prose comes before a paste's SQL or log words)."""
    capitalised: dict[str, dict[str, int]] = {}
    for word in _CAPITALISED.finditer(prose):
        written = word.group().rstrip(_WORD_END)
        lowered = written.lower()
        if len(lowered) != len(written) or written == lowered:
            continue  # a letter lower-casing changes the length of: no form to map back to
        if written[1:] == lowered[1:] and _opens_sentence(prose, word.start()):
            continue
        forms = capitalised.setdefault(lowered, {})
        forms[written] = forms.get(written, 0) + 1
    if not capitalised:
        return {}
    words = _WORD.findall(prose)
    for lowered, forms in capitalised.items():
        written_lower = words.count(lowered) + words.count(lowered + ".")  # counted in C
        if written_lower:
            forms[lowered] = written_lower

    def first_seen(written: str) -> int:
        return min((words.index(variant) for variant in (written, written + ".") if variant in words), default=len(words))

    return {
        lowered: form
        for lowered, forms in capitalised.items()
        if (form := max(forms, key=lambda written: (forms[written], -first_seen(written)))) != lowered
    }


def _opens_sentence(prose: str, start: int) -> bool:
    """The word at ``start`` opens a line, a list item or a sentence."""
    before = prose[max(0, start - 12) : start].rstrip(" \t-*>#")
    return not before or before[-1] in ".!?:\n"


def may_change_task(text: str, words: set[str] | None = None) -> bool:
    """Whether a later user turn may announce a change of task: only such a turn, after the
    first few, is read for its intent.

    ``words``: the turn's words when known (``cues.turn_words``): without a trigger word of
    ``_REFINEMENT`` or ``_NEW_TASK`` among them, the turn announces nothing.
    """
    if words is not None and len(text) <= _READ_CHARS and words.isdisjoint(_REFINEMENT_TRIGGERS.words):
        return False
    if words is not None and len(text) > _READ_CHARS:
        # the part read, with its own words (the cut may make a trigger of a longer word's start)
        head = text[:_READ_CHARS].lower()
        if not _REFINEMENT_TRIGGERS.may_match(head):
            return False
    lowered = " ".join(text[:_READ_CHARS].lower().split())
    return bool(_NEW_TASK.search(lowered) or _REFINEMENT.search(lowered))
