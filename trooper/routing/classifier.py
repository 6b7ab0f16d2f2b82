"""Which tier should answer a turn: a deterministic, rule-based classifier (no model call).

The request's shape is read before its words, as agents' own routers do; then only the last user
turn's text. Earlier history never makes a turn simple by itself: a long conversation with a
short "thanks!" at the end is still a simple turn. The rules, in order:

1. the turn carries tool results or images, extended thinking is asked for, a tool call is forced
   (``tool_choice`` required or naming a tool: Ollama has no tool choice, so the force would be
   dropped), or the request needs tools the local model cannot call → cloud;
2. a side call (a small model such as Haiku, no tools, a system prompt asking for a title or a
   topic: Claude Code's own bookkeeping calls) → local;
3. tools defined in a session already under way (an agent at work: never switch models inside
   its loop) → cloud;
4. more than 600 bytes, or code markers (fences, definitions, stack traces, source paths...) → cloud;
5. a text chore (sort, uppercase, number the lines, make a list or a table, fix the spelling)
   → local;
6. more than 20 words or 300 bytes → cloud ("long turn");
7. consequential words (health, law, money, maths beyond arithmetic) or risk words ("why",
   "explain", "debug", "compare", and their German, Spanish, French, Portuguese forms), or a
   technology the lexicon knows ("technical: postgres") → cloud;
8. a social turn, arithmetic or a unit conversion, a short factual question, a safe pattern
   ("how many", "translate", "define"...) → local;
9. anything else → cloud (the router answers locally when no cloud is configured).

The multilingual vocabularies live in ``simple_turns``. Everything is compiled once at import
and matched case-insensitively; words and phrases match whole words only. Judged on a labelled
corpus with a held-out test split: docs/routing.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Literal, Mapping

from trooper.conversation import HostedToolBlock, ImageBlock, Message, Request, ToolResultBlock
from trooper.errors import InvalidRequest
from trooper.memory.lexicon import TECHNOLOGIES
from trooper.routing import simple_turns

Route = Literal["local", "cloud"]

MAX_SIMPLE_WORDS = 20
MAX_SIMPLE_BYTES = 300
#: A text chore carries the text it works on: it may be longer than a question.
MAX_CHORE_BYTES = 600
#: Model names of the small tiers agents send their bookkeeping calls to.
_SMALL_MODELS = ("haiku", "-mini", "flash-lite", "nano")
#: What a side call's system prompt asks for; in the turn itself only a title or a topic counts
#: ("summarise this article" sent to Haiku is a user's request, not bookkeeping).
_SIDE_CALL_WORDS = ("title", "topic", "summar")
_SIDE_CALL_TURN_WORDS = ("title", "topic")
#: How much of the turn a side call's instruction is looked for in, when no system prompt says it.
_SIDE_CALL_LEAD_CHARS = 120


@dataclass(frozen=True)
class Classification:
    route: Route
    #: A short phrase for the ``X-Trooper-Decision`` header: "simple turn", "risk word: explain"...
    reason: str


_CODE_EXTENSIONS = (
    "py|pyi|ipynb|js|mjs|cjs|ts|tsx|jsx|go|rs|java|kt|kts|c|h|cc|cpp|cxx|hpp|cs|rb|php|swift|scala"
    "|sh|bash|zsh|ps1|sql|lua|pl|vue|svelte|css|scss|html|yaml|yml|toml|json|xml|gradle|dockerfile"
)

# Substrings that only code carries; plain `in` tests are the cheapest scan there is.
_CODE_MARKERS: tuple[str, ...] = (
    "```", "~~~", "==", "!=", "&&", "||", "=>", "::", "++", "+=", "()",
    "traceback (most recent call last)", "segmentation fault", "panic: ", "error: ", "exception: ",
    "#!/", "; do", "; then", "$(", "${", '"$',
)  # fmt: skip

# Code shapes rather than bare words, so "what is the function of the liver" is not code. One
# regex per shape, each starting with a literal or a small character set: the engine then jumps
# to candidate positions, which one alternation of them all would not (3x slower). Matched on
# lowercased text.
_CODE_SHAPES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        r"def +\w+ *\(",  # python
        r"fn +\w+ *\(",  # rust
        r"func +\w+ *\(",  # go
        r"function *\*? *\w* *\(",  # javascript
        r"class +\w+ *(?:\(|:|\{|extends |implements )",
        r"goroutine \d+ \[",
        rf"\.(?<=\w\.)(?:{_CODE_EXTENSIONS})\b",  # source paths: "src/app.py", "main.rs:12"
        r"[{};][ \t]*$",  # lines ending like code
        r"</?[a-z][\w-]*(?: [^<>]*)?/?>",  # markup tags
        # lines that start like code: imports, includes, shell prompts, stack frames
        r'^[ \t]*(?:import +[\w.{*]|from +[\w.]+ +import |#include *[<"]|\$ +\w|at +[\w.$<>]+\(|file "[^"]+", line \d)',
    )
)


def _looks_like_code(lowered: str) -> bool:
    return any(marker in lowered for marker in _CODE_MARKERS) or any(shape.search(lowered) for shape in _CODE_SHAPES)


# Risk words and phrases with the forms that count, matched as whole words ("reasonable" never
# counts as "reason", nor "whyever" as "why").
_RISK_FORMS: dict[str, tuple[str, ...]] = {
    "why": ("why",),
    "explain": ("explain", "explains", "explained", "explaining", "explanation"),
    "should I": ("should i", "should we"),
    "debug": ("debug", "debugs", "debugged", "debugging"),
    "step by step": ("step by step",),
    "walk me through": ("walk me through", "walk us through"),
    "summarize": ("summarize", "summarise", "summarizes", "summarises", "summarized", "summarised", "summary"),
    "analyze": ("analyze", "analyse", "analyzes", "analyses", "analyzed", "analysed", "analysis"),
    "compare": ("compare", "compares", "compared", "comparing", "comparison"),
    "difference between": ("difference between", "differences between"),
    "pros and cons": ("pros and cons", "tradeoff", "tradeoffs", "trade off", "trade offs"),
    "design": ("design", "designs", "designed", "designing"),
    "architecture": ("architecture", "architect"),
    "refactor": ("refactor", "refactors", "refactored", "refactoring"),
    "review": ("review", "reviews", "reviewed", "reviewing"),
    "prove": ("prove", "proves", "proved", "proven", "proof"),
    "reason": ("reason", "reasons", "reasoned", "reasoning"),
    "optimize": ("optimize", "optimise", "optimized", "optimised", "optimizing", "optimising", "optimization"),
    "troubleshoot": ("troubleshoot", "troubleshooting", "diagnose", "diagnosis"),
    "implement": ("implement", "implements", "implemented", "implementing", "implementation"),
    "evaluate": ("evaluate", "evaluates", "evaluated", "evaluating", "evaluation"),
    "critique": ("critique", "criticize", "criticise"),
    "derive": ("derive", "derives", "derived", "derivation"),
    "best way": ("best way", "best practice", "best practices", "best approach"),
    "not working": ("wrong with", "not working", "doesn't work", "doesnt work", "isn't working", "won't work", "broken"),
}

_SAFE_FORMS: tuple[str, ...] = (
    "how many", "how much", "how old", "how far", "how long", "how tall", "how big",
    "calculate", "convert", "define", "definition of", "meaning of",
    "what does", "what is", "what are", "what was", "what were", "what's", "what time", "what day", "what year",
    "who is", "who was", "who wrote", "when is", "when was", "when did", "where is", "where was",
    "fix the grammar", "fix grammar", "fix the spelling", "fix the typos", "correct the grammar", "correct the spelling",
    "proofread", "translate", "how do you say", "remind me", "repeat that", "say that again",
    "give me an example", "spell", "synonym", "synonyms", "antonym", "antonyms", "capital of",
    "rhymes with", "rhyme with", "list",
)  # fmt: skip

# A greeting or thanks is simple only when it is the whole turn, give or take two words.
_GREETINGS: tuple[str, ...] = (
    "hi", "hello", "hey", "good morning", "good afternoon", "good evening", "good night",
    "thanks", "thank you", "thx", "cheers", "bye", "goodbye",
)  # fmt: skip
_GREETING_SLACK_WORDS = 2

_NOT_WORD = re.compile(r"\W+")


def _words(lowered: str) -> str:
    """The words of a lowercased text joined by single spaces, with a space at each end, so a
    phrase matches as whole words when found with a space either side. Apostrophes, straight or
    curly, split words ("what's" → "what s"); forms are normalised the same way."""
    return f" {_NOT_WORD.sub(' ', lowered).strip()} "


def _phrases(forms: Iterable[str]) -> re.Pattern[str]:
    """A regex finding any of `forms` as whole words in the output of `_words`.

    Literal alternatives behind a common leading space are fast to scan; longer forms come first
    so the longest one at a position wins.
    """
    ordered = sorted({_words(form).strip() for form in forms}, key=len, reverse=True)
    return re.compile(" (" + "|".join(re.escape(form) for form in ordered) + ")(?= )")


_RISK_NAMES = {_words(form).strip(): name for name, forms in _RISK_FORMS.items() for form in forms}
_RISK = _phrases(_RISK_NAMES)
_SAFE = _phrases(_SAFE_FORMS)
_GREETING_WORDS = {tuple(g.split()) for g in _GREETINGS}


def classify(request: Request, *, local_supports_tools: bool) -> Classification:
    """Route the request's last user turn to the local model or the cloud, with a short reason."""
    if request.asks_for_compaction() is not None:  # Claude compacts natively; a summary is not a simple turn
        return Classification("cloud", "compaction requested")
    turn = _last_user_turn(request)
    if turn is None:
        return Classification("cloud", "no user turn")
    if any(isinstance(b, ToolResultBlock) for b in turn.content):
        return Classification("cloud", "tool results")
    if any(isinstance(b, ImageBlock) for b in turn.content):
        return Classification("cloud", "images")
    if any(isinstance(b, HostedToolBlock) and b.is_document() for b in turn.content):
        return Classification("cloud", "documents")
    if any(isinstance(b, HostedToolBlock) and b.item.get("type") == "search_result" for b in turn.content):
        return Classification("cloud", "search results")
    if request.asks_for_thinking():
        return Classification("cloud", "thinking requested")
    if request.forces_tool_call():
        return Classification("cloud", "tool call forced")
    if request.needs_tools() and not local_supports_tools:
        return Classification("cloud", "tools needed")
    if _is_side_call(request):
        return Classification("local", "side call")
    if request.needs_tools() and _agent_at_work(request):
        return Classification("cloud", "agent session")
    return classify_text(turn.text())


def _is_side_call(request: Request) -> bool:
    """A small model asked, with no tools, for a title or a topic (an agent's bookkeeping call)."""
    model = request.model.lower()
    if request.tools or not any(name in model for name in _SMALL_MODELS):
        return False
    system = (request.system or "").lower()
    lead = request.last_user_text()[:_SIDE_CALL_LEAD_CHARS].lower()
    return any(word in system for word in _SIDE_CALL_WORDS) or any(word in lead for word in _SIDE_CALL_TURN_WORDS)


def _agent_at_work(request: Request) -> bool:
    """Earlier turns in a request that defines tools: an agent's loop is under way."""
    return len(request.messages) > 1


def classify_text(text: str) -> Classification:
    """The text rules alone (4-9 above), for a turn already known to be plain text."""
    if not text.strip():
        return Classification("cloud", "empty turn")
    size = len(text.encode())
    if size > MAX_CHORE_BYTES:
        return Classification("cloud", "long turn")
    lowered = text.lower()
    if _looks_like_code(lowered):
        return Classification("cloud", "code")
    if simple_turns.is_text_chore(lowered):
        return Classification("local", "simple turn")
    if size > MAX_SIMPLE_BYTES or len(text.split()) > MAX_SIMPLE_WORDS:
        return Classification("cloud", "long turn")
    words = _words(lowered)
    risk = _RISK.search(words)
    if risk:
        return Classification("cloud", f"risk word: {_RISK_NAMES[risk.group(1)]}")
    other = simple_turns.RISK_WORDS.search(lowered) or simple_turns.CONSEQUENTIAL.search(lowered)
    if other:
        return Classification("cloud", f"risk word: {other.group(0)}")
    tokens = words.split()
    technology = _technology(tokens)
    if technology:
        return Classification("cloud", f"technical: {technology}")
    if (
        _is_greeting(tokens)
        or simple_turns.is_social(lowered)
        or simple_turns.is_arithmetic(lowered)
        or simple_turns.is_factual(lowered)
        or _SAFE.search(words)
    ):
        return Classification("local", "simple turn")
    return Classification("cloud", "not simple")


def _technology(words: list[str]) -> str | None:
    """A technology the turn names (``lexicon``): a technical question goes to the strong model."""
    return next((w for w in words if w in TECHNOLOGIES), None)


def _is_greeting(words: list[str]) -> bool:
    return any(tuple(words[:n]) in _GREETING_WORDS and len(words) <= n + _GREETING_SLACK_WORDS for n in (1, 2))


def _last_user_turn(request: Request) -> Message | None:
    for message in reversed(request.messages):
        if message.role == "user":
            return message
    return None


_TRUE = {"1", "true", "yes", "on"}


def forced_route(headers: Mapping[str, str], body: Mapping[str, Any]) -> Route | None:
    """The route the client forces, if any.

    ``X-Trooper-Route: local|cloud`` wins; then the original Trooper's ``X-Force-Local: true`` and
    body ``"x_force_local": true``. An unknown ``X-Trooper-Route`` value is a 400, not ignored,
    so a typo never silently routes somewhere the client did not ask for.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    route = lowered.get("x-trooper-route", "").strip().lower()
    if route in ("local", "cloud"):
        return route  # type: ignore[return-value]  # "local" or "cloud", as checked
    if route:
        raise InvalidRequest(f"X-Trooper-Route must be 'local' or 'cloud', got {route!r}")
    if lowered.get("x-force-local", "").strip().lower() in _TRUE:
        return "local"
    flag = body.get("x_force_local")
    if flag is True or (isinstance(flag, str) and flag.strip().lower() in _TRUE):
        return "local"
    return None
