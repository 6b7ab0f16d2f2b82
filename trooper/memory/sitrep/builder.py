"""SITREP: a rule-based situation report of a session, extracted without a model call.

``SitrepBuilder`` folds messages one at a time, so the server can keep a builder per session
and add each new turn (the incremental path); ``extract_sitrep`` folds a whole list.

Only a window of each turn is read (its first ``HEAD_CHARS`` and last ``TAIL_CHARS``): the
signal of a turn sits at its start and its conclusion, and the window keeps the cost linear in
the number of turns however long the pasted logs are. Tool results contribute their error codes
and, when they fail, an open loop.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import NamedTuple

from trooper.client_context import without_client_context
from trooper.conversation import Message, TextBlock, ToolResultBlock, ToolUseBlock
from trooper.memory.sitrep import agent_steps, cues, entity_ranker
from trooper.memory.sitrep.agent_steps import MAX_ITEM_WORDS
from trooper.memory.sitrep.entities import (
    GENERIC_CAPITALS,
    command_names,
    extract_entities,
    extract_errors,
    extract_paths,
    quoted_phrases,
)
from trooper.memory.sitrep.entity_ranker import (
    ASSISTANT,
    COMMAND,
    DONE_TURN,
    FAILED_RESULT,
    FIRST_USER_TURN,
    PROBLEM_TURN,
    QUOTED,
    TOOL_INPUT,
    TOOL_OUTPUT,
    USER,
    EntityRanker,
    entity_limit,
)
from trooper.memory.sitrep.intent_choice import IntentChooser
from trooper.memory.sitrep.intent_choice import clear_cache as _clear_intent_cache
from trooper.memory.sitrep.items import (
    RECENT_TURNS,
    TEXT_SOURCES,
    Candidate,
    Field,
    Selector,
    candidate_features,
    core,
    deferred,
    first_words,
    planned_or_asked,
    sentence_features,
    shipped_selector,
    shown,
    text_features,
)
from trooper.memory.summary_request import COMPACTION_PROMPT
from trooper.memory.tokens import count_tokens

HEAD_CHARS = 1000
TAIL_CHARS = 400
MAX_ITEM_CHARS = 160
# "PR #3", "issue 12", "step 4", "#7", ".../pull/214": the numbered unit of work a completed step names.
_REFERENCE = re.compile(
    r"\b(?:pr|pull request|mr|merge request|issue|ticket|bug|step|phase|task|stage)\s*#?\s*(\d+)\b|#(\d+)\b"
    r"|/(?:pull|merge_requests|issues)/(\d+)\b"
)
#: Every reference holds a number: a sentence without a digit is not scanned for one.
_DIGIT = re.compile(r"\d")
_KEYWORD = re.compile(r"[^\W_][\w.+#'-]*[^\W_+#]|[^\W_]")
#: ``_KEYWORD``'s characters that are not letters or digits: a keyword neither starts nor ends with them.
_KEYWORD_EDGES = "_.+#'-"
#: ASCII characters that cannot be in a keyword, blanked.
_KEYWORD_CHARS = bytes(c if chr(c).isalnum() or chr(c) in _KEYWORD_EDGES else 32 for c in range(128)) + bytes(range(128, 256))
_STOPWORDS = frozenset(
    """the a an and or but if then so to of in on at by for with from into onto over under about as is are was
    were be been being it its it's this that these those there here i i'm we we're you your my our me us they
    them he she his her not no yes do does did done has have had can could should would will just now still
    again also too very really quite some any all more most other such than only own same up down out off
    what which who whom whose when where why how get got getting make made use used using need needs want
    wants try tried let let's please thanks ok okay one two new old first last next same way thing things
    keep keeps kept fix fixed fixes fixing issue problem works working work worked completed complete
    finished resolved merged deployed shipped landed implemented solved done now after before out error errors
    fail fails failed failing bug broken wrong again still there""".split()
)
_ANSWER_MIN_CHARS = 40
#: Turn texts whose reading is kept: a text read before (a history the server rebuilds after a
#: branch, "ok", a repeated tool command or output) then costs one look-up. Texts are windowed,
#: so an entry holds at most ~1.4k characters.
_CACHED_TEXTS = 4096


# What Trooper itself puts into a conversation: its SITREP block (echoed back by a model that saw
# it in a fallback's system prompt), the bridge turn of a compacted history and the turn that asks
# a model for a summary (recorded in a session compacted at /v1/responses/compact). Never content.
_OWN_BLOCK = re.compile(r"\[TROOPER_SITREP\].*?(?:\[/TROOPER_SITREP\]|\Z)|^\[Trooper: \d+ earlier messages compacted[^\]]*\]", re.S | re.M)


def _window(text: str) -> str:
    """The part of a turn's text that is read: without what Trooper or the client's agent put
    into it, and only its head and tail when it is long."""
    if text == COMPACTION_PROMPT:  # the turn asking for a summary: Trooper's words, not the user's
        return ""
    if "[TROOPER_SITREP]" in text or "[Trooper: " in text:
        text = _OWN_BLOCK.sub("", text)
    text = without_client_context(text)
    if len(text) <= HEAD_CHARS + TAIL_CHARS:
        return text
    tail = text[-TAIL_CHARS:]
    return text[:HEAD_CHARS] + "\n" + tail[tail.find("\n") + 1 :]


# What opens a clause without saying anything: interjections, connectives, a first-person subject.
_FILLER = re.compile(
    r"^(?:(?:ok(?:ay)?|so|well|great|nice|cool|good news|update|yes|yep|yeah|alright|perfect|awesome|also|and|"
    r"then|now|finally|btw|fyi|found it|confirmed|ugh|hmm|oh|right|sure|done|note|summary)\b[\s,!.:;-]*)+",
    re.IGNORECASE,
)
_SUBJECT = re.compile(
    r"^(?:i|we|i've|we've|i have|we have|i'm|we're)\s+(?:(?:just|also|now|finally|then|already)\s+)?",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(r"[\s,;:-]+(?:thx|thanks|thank you|ty|cheers|gotta go|lol)[\s!.]*$", re.IGNORECASE)
#: How a sign-off ends, before its blanks, "!" and "."; an ASCII clause ending otherwise has none
#: (the regex is tried at every blank of the clause).
_SIGN_OFF_ENDS = ("thx", "thanks", "thank you", "ty", "cheers", "gotta go", "lol")
_SIGN_OFF_TRAIL = "".join(chr(c) for c in range(128) if chr(c).isspace()) + "!."
#: Names too generic to tell one session from another.
_NOISE_ENTITIES = frozenset("github git sql exception error json http https".split())
# Shapes that are never what a session is about: positional shell variables ("$1"), CSS pixel
# and em sizes ("24px", "1.5rem").
_NOISE_SHAPE = re.compile(r"\$?\d+|\d+(?:\.\d+)?(?:px|rem|em)")
_LINE_SUFFIX = re.compile(r":\d+(?::\d+)?$")
_QUANTITY_STARTS = frozenset("0123456789$")
#: A user's home folder, where an agent's working directory sits.
_HOME_FOLDER = re.compile(r"/(?:home|Users)/[^/]+/|/root/")
_HOME_PREFIX = re.compile(_HOME_FOLDER.pattern + r"|/workspaces?/|/app/|/code/|/srv/|/opt/")
#: Top-level folders a project's own paths start with.
_PROJECT_DIRS = frozenset(
    "src app apps lib libs tests test spec internal cmd pkg infra config configs scripts docs migrations "
    "charts deploy k8s terraform modules packages services web api server client frontend backend".split()
)
#: Words of a prose loop that a passing test or build closes.
_CHECK_WORDS = frozenset("test tests build ci red compil pipelin".split())
#: A user's request opens no loop: it is the intent ("help me fix…", "can you…", "please add…").
_REQUEST_START = re.compile(
    r"(?:please |pls |can you |could you |would you |help me |i need you to |let's )"
    r"|(?:fix|add|make|write|create|update|remove|implement|refactor|set up|investigate|find|debug)\b(?!.*\bstill\b)"
)
#: Where the loops that are tracked (closed by a later turn) whether listed or not come from: the
#: cues' readings and tool failures; any other clause opens a loop only when it is listed.
_TRACKED_SOURCES = frozenset({"prose", "question", "check", "cmd", "tool"})
#: A concise item needs this many content words to stand alone ("Reproduced." does not).
_MIN_ITEM_KEYWORDS = 2


def concise(clause: str) -> str:
    """A clause as a dashboard item: markup, interjections and a leading "I"/"we" off, 12 words at most."""
    text = " ".join(clause.replace("`", "").replace("**", "").split())
    text = _SUBJECT.sub("", _FILLER.sub("", text))
    if not text.isascii() or text.rstrip(_SIGN_OFF_TRAIL).lower().endswith(_SIGN_OFF_ENDS):
        text = _SIGN_OFF.sub("", text)
    text = text.strip(" -*>#:;,")
    words = text.split()
    return first_words(words, MAX_ITEM_WORDS).rstrip(".,;:")


def _item(sentence: str) -> str:
    sentence = " ".join(sentence.split()).strip(" -*>#")
    return sentence if len(sentence) <= MAX_ITEM_CHARS else sentence[: MAX_ITEM_CHARS - 1].rstrip() + "…"


@lru_cache(maxsize=_CACHED_TEXTS * 4)  # a session's vocabulary recurs: most words are stemmed once
def _stem(word: str) -> str:
    if word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    for suffix in ("ing", "ed", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(lowered: str) -> set[str]:
    """What ``_KEYWORD`` finds in a lowercase text, as a set.

    In an ASCII text a keyword is a run of its characters stripped of the ones that may not end
    it: one ``bytes.translate`` and ``split`` find them all (the regex costs twice as much).
    """
    if not lowered.isascii():
        return set(_KEYWORD.findall(lowered))
    words = {run.strip(_KEYWORD_EDGES) for run in lowered.encode().translate(_KEYWORD_CHARS).decode().split()}
    words.discard("")  # a run of edge characters only ("--")
    return words


@lru_cache(maxsize=_CACHED_TEXTS)  # a step's keywords are asked again for each later step it is compared with
def keywords(text: str) -> frozenset[str]:
    """Content words of a sentence, lightly stemmed: how loops and steps are matched up."""
    words = _words(text.lower()) - _STOPWORDS
    return frozenset(map(_stem, [w for w in words if len(w) > 2]))


def _single_text(message: Message) -> TextBlock | None:
    """The message's one block when it is text, the common case: no join, no tool blocks to look for."""
    only = message.content[0] if len(message.content) == 1 else None
    return only if isinstance(only, TextBlock) else None


def _turn_text(message: Message) -> str:
    return "\n".join(block.text for block in message.content if isinstance(block, TextBlock) and block.text)


class _Sentence(NamedTuple):
    reading: cues.Reading
    #: ``_item`` of a question, decision or constraint (kept as such), else "".
    item: str = ""


def _sentence(reading: cues.Reading) -> _Sentence:
    """The reading with what the fold derives from its sentence alone; most sentences say nothing."""
    text = reading.sentence
    item = _item(text) if reading.question or reading.decision or reading.constraint else ""
    return _Sentence(reading, item)


class _TurnReading(NamedTuple):
    """Everything the fold takes from one turn's text: a pure function of the text and role."""

    sentences: tuple[_Sentence, ...]
    entities: tuple[str, ...]
    #: The turn's first sentence: context for a terse sentence opening the next turn.
    lead: str
    #: Its words (``cues.turn_words``), for the look-ups that rule out a change of intent.
    words: set[str] | None
    #: ``PROBLEM_TURN`` / ``DONE_TURN`` when a sentence reports something open / done: the
    #: context of the turn's entities.
    context: int


@lru_cache(maxsize=_CACHED_TEXTS)
def _read(text: str, from_user: bool) -> _TurnReading:
    words = cues.turn_words(text.lower())
    turn = cues.read_turn(text, from_user, words)
    readings = turn.readings
    context = (PROBLEM_TURN if any(r.open for r in readings) else 0) | (DONE_TURN if any(r.done for r in readings) else 0)
    return _TurnReading(tuple(map(_sentence, readings)), tuple(extract_entities(text, words)), turn.lead, words, context)


@lru_cache(maxsize=_CACHED_TEXTS)
def _entities(text: str) -> tuple[str, ...]:
    return tuple(extract_entities(text))


@dataclass
class Sitrep:
    """What a session is about and where it stands; ``to_dict`` is its JSON form."""

    intent: str = ""
    #: 0..1, see ``docs/sitrep.md``: the intent model's probability, plus up to 0.3 for the
    #: intent's words recurring later, plus 0.1 when it names an entity, minus 0.15 a change of task.
    confidence: float = 0.0
    entities: list[str] = field(default_factory=list)
    open_loops: list[str] = field(default_factory=list)
    completed_steps: list[str] = field(default_factory=list)
    resolved_loops: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)
    turn_count: int = 0
    #: Item → the turn it was read from (0-based) and that turn's sentence, for "show me where".
    evidence: dict[str, dict[str, object]] = field(default_factory=dict)
    #: The session's subagents, ``{"session_id", "asked", "done"}`` each (``memory/sitrep/subagents.py``).
    subagents: list[dict[str, object]] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class _Loop:
    text: str
    keys: frozenset[str]
    #: Loops of one key supersede each other ("check:pytest" failing again, then passing).
    tool: str = ""
    #: The turn that reported it: a problem report often spans several sentences.
    turn: int = 0
    #: Work put off ("tomorrow", "next PR"): only a completion naming it closes it.
    deferred: bool = False
    #: The selector lists it (a loop it does not list is still tracked: a later turn may close it).
    listed: bool = True


class _Unique:
    """``list(dict.fromkeys(items))``, kept from one build to the next: most turns add no item.
    With ``near``, an item that shares half its keywords with an earlier one is dropped too: one
    loop read twice ("Write tests for useTheme", "Still to do: the useTheme tests"), or a question
    and its own 10-word cut, is listed once. (Steps are not: "cargo build passes" and "cargo test
    passes" share as many words and are two steps.)"""

    def __init__(self, near: bool = False) -> None:
        self._near = near
        self._items: list[str] = []
        self._unique: list[str] = []
        #: With ``near``: the distinct items last judged, how many of them were kept up to each,
        #: and the kept ones with their keywords. An item's fate depends only on the items before
        #: it, so a build judges only the items after the part it shares with the last one's.
        self._judged: list[str] = []
        self._kept_up_to: list[int] = []
        self._kept: list[tuple[str, frozenset[str]]] = []
        #: The unique items as listed (``shown``), redone only when the items change.
        self._listed: list[str] = []

    def __call__(self, items: list[str]) -> list[str]:
        if items != self._items:  # the same strings: compared by identity, in C
            unique = list(dict.fromkeys(items))
            before = self._unique
            self._items, self._unique = list(items), self._without_near_repeats(unique) if self._near else unique
            if self._unique[: len(before)] == before:  # most builds: items added at the end
                self._listed = list(dict.fromkeys(self._listed + list(map(shown, self._unique[len(before) :]))))
            else:
                self._listed = list(dict.fromkeys(map(shown, self._unique)))
        return list(self._unique)

    def listed(self) -> list[str]:
        """The last call's unique items as the SITREP lists them (``shown``: "I'll…" off)."""
        return list(self._listed)

    def _without_near_repeats(self, unique: list[str]) -> list[str]:
        same = 0
        for judged, item in zip(self._judged, unique):
            if judged != item:
                break
            same += 1
        kept = self._kept[: self._kept_up_to[same - 1]] if same else []
        kept_up_to = self._kept_up_to[:same]
        for item in unique[same:]:
            words = keywords(item)
            if not (words and any(not words.isdisjoint(other) and len(words & other) * 2 >= len(words | other) for _, other in kept)):
                kept.append((item, words))
            kept_up_to.append(len(kept))
        self._judged, self._kept_up_to, self._kept = unique, kept_up_to, kept
        return [item for item, _ in kept]


class SitrepBuilder:
    """Folds a conversation, message by message, into a ``Sitrep``.

    ``selector`` decides which candidate steps and loops are listed (the shipped models by
    default); with ``collect``, every candidate proposed is kept in ``candidates`` with its
    features (what the models are trained on). ``intent``: what chooses the intent (by default
    with the shipped model).
    """

    def __init__(self, selector: Selector | None = None, collect: bool = False, intent: IntentChooser | None = None) -> None:
        self._selector = selector or shipped_selector()
        #: (field, item) → the candidate, when collecting.
        self.candidates: dict[tuple[Field, str], Candidate] | None = {} if collect else None
        #: The latest text turns, oldest first (``RECENT_TURNS`` at most), each with its text
        #: candidates that only ``final_features`` may lift above 0: (field, item, source, role,
        #: score); listed at ``build`` while the turn's rank among the latest lifts them.
        self._recent: list[tuple[int, list[tuple[Field, str, str, str, float]]]] = []
        #: Candidates proposed in the current turn: a clause the cues read is not proposed again.
        self._proposed: set[tuple[Field, str]] = set()
        #: Items listed (or kept for ``build``) in the current turn, by field and sentence: one
        #: sentence's clause read twice (by the cues and as a clause) is listed once.
        self._listed_here: dict[tuple[Field, str], list[frozenset[str]]] = {}
        self._intent = ""
        self._chooser = intent or IntentChooser()
        self._intent_turn = -1
        self._intent_words: frozenset[str] = frozenset()
        #: Intent words seen in a turn after the intent was stated: kept per turn, so that
        #: ``add`` costs one turn's work and ``build`` none of the session's.
        self._supported: set[str] = set()
        #: Candidate names with how and where they were named, ranked by the learned model.
        self._entities = EntityRanker()
        #: File name → the path it was last named by: a file is one entity however it is reached.
        self._paths: dict[str, str] = {}
        self._loops: list[_Loop] = []
        #: Questions not answered yet, and whether the selector lists each.
        self._questions: list[tuple[str, bool]] = []
        self._steps: list[str] = []
        self._step_keys: set[str] = set()
        self._references: set[str] = set()
        self._resolved: list[str] = []
        self._decisions: dict[str, None] = {}
        self._constraints: dict[str, None] = {}
        self._tool_calls: dict[str, ToolUseBlock] = {}
        #: Step key → index in ``_steps``: a check that passes again replaces its earlier step.
        self._keyed_steps: dict[str, int] = {}
        #: The latest ``TodoWrite`` list: (status, item).
        self._todos: list[tuple[str, str]] = []
        #: Where the agent's git work stands: the turn of its last file edit, of its last commit
        #: (and that commit's hash), of its last push; PRs it opened and not seen merged.
        self._edited = self._committed = self._pushed = -1
        self._commit_hash = ""
        #: Whether a text turn spoke of committing: only then are edits left uncommitted an open loop.
        self._commit_talk = False
        #: The turn of the latest tool result: a failed command is open work only if the session ends on it.
        self._last_result_turn = -1
        #: Hashes of the commits seen: prose naming one retells its commit ("Committed 3d9a0e6 on …").
        self._hashes: set[str] = set()
        self._prs: dict[str, None] = {}
        self._evidence: dict[str, dict[str, object]] = {}
        #: Evidence noted so far, and ``build``'s last evidence map with the items and count it was
        #: built for: most turns change neither, and the map costs O(items) to gather.
        self._notes = 0
        self._built_evidence: tuple[list[str], int, dict[str, dict[str, object]]] = ([], 0, {})
        self._unique_steps = _Unique()
        self._unique_loops = _Unique(near=True)
        self._unique_resolved = _Unique()
        #: ``_lifted``'s result at the last build, with the state of ``_recent`` it was chosen in.
        self._built_lifted: tuple[tuple[tuple[int, int], ...], list[tuple[Field, str]]] = ((), [])
        #: ``_confidence``'s inputs and result at the last build.
        self._built_confidence: tuple[tuple[object, ...], float] = ((), 0.0)
        self._previous_lead = ""
        self._turns = 0
        #: User turns with text (tool results aside).
        self._user_turns = 0

    def entity_candidates(self) -> list[tuple[str, tuple[str, ...]]]:
        """Every candidate name with its features, first mentioned first: the entity ranker's training examples."""
        return self._entities.records()

    def copy(self) -> SitrepBuilder:
        """An independent builder in this state: a request's new turns are folded into a copy."""
        return copy.deepcopy(self)

    def add(self, message: Message) -> None:
        self._turns += 1
        self._proposed.clear()
        if self._listed_here:
            self._listed_here.clear()
        single = _single_text(message)
        text = _window(single.text if single else _turn_text(message))
        turn = _read(text, message.role != "assistant") if text else None
        if text:
            self._recent = [*self._recent[1 - RECENT_TURNS :], (self._turns - 1, [])]
        with_tools = single is None
        if text and not self._commit_talk:
            self._commit_talk = _COMMIT_TALK.search(text) is not None
        if message.role == "assistant":
            self._add_assistant(message, text, turn, with_tools)
        else:
            self._add_user(message, text, turn, with_tools)
        if turn:
            role = ASSISTANT if message.role == "assistant" else USER | (FIRST_USER_TURN if self._user_turns == 1 else 0)
            for entity in turn.entities:
                self._add_entity(entity, role | turn.context)
            if "`" in text:
                for entity in _code_names(text):
                    self._add_entity(entity, role | turn.context | QUOTED)
                for entity in _phrases(text):
                    if entity not in turn.entities:  # a name the rules read already
                        self._add_entity(entity, role | turn.context | QUOTED)
            if 0 <= self._intent_turn < self._turns - 1 and len(self._supported) < len(self._intent_words):
                lowered = text.lower()
                self._supported.update(w for w in self._intent_words - self._supported if w in lowered)
            self._previous_lead = turn.lead

    def _add_entity(self, entity: str, flags: int) -> None:
        """One mention of a candidate name, read in the roles and contexts of ``flags``."""
        if len(entity) < 2 or entity.lower() in _NOISE_ENTITIES or entity in GENERIC_CAPITALS or _NOISE_SHAPE.fullmatch(entity):
            return
        if flags & ASSISTANT and entity[:1] in _QUANTITY_STARTS:
            return  # sizes and durations an assistant mentions in passing matter to nobody
        if entity.startswith("/"):
            if _HOME_FOLDER.match(entity) and _names_folder(entity):
                return  # a folder in someone's home, an agent's working directory: nobody names it
            entity = _project_path(entity)
        if "/" in entity:
            entity = _LINE_SUFFIX.sub("", entity)  # "app/orders.py:27" is app/orders.py
            name = entity.rsplit("/", 1)[-1]
            known = self._paths.get(name)
            if known is not None and known != entity and (known.endswith("/" + entity) or entity.endswith("/" + known)):
                entity = min(known, entity, key=len)  # one file named from two roots: the shorter name
                if known != entity and known in self._entities:
                    self._entities.rename(known, entity)
            self._paths[name] = entity
        elif entity in self._paths:
            return  # a bare file name repeating a path already known
        self._entities.mention(entity, flags)

    # ------------------------------------------------------------ per role

    def _add_user(self, message: Message, text: str, turn: _TurnReading | None, with_tools: bool) -> None:
        for result in message.tool_results() if with_tools else ():
            self._add_tool_result(result)
        if not turn:
            return
        self._user_turns += 1
        if self._chooser.add(text, turn.words) and self._chooser.text != self._intent:
            self._intent, self._intent_turn = self._chooser.text, self._turns - 1
            self._intent_words = keywords(self._intent)
            self._supported = set()  # support for the new intent counts from here on
        self._read_sentences(turn, from_user=True)
        # the first user turn sets the scene: no step yet
        self._propose_clauses(text, True, "clause", steps=self._user_turns > 1)

    def _add_assistant(self, message: Message, text: str, turn: _TurnReading | None, with_tools: bool) -> None:
        for use in message.tool_uses() if with_tools else ():
            self._tool_calls[use.id] = use
            if agent_steps.changes_files(use.name):
                self._edited = self._turns
            todos = agent_steps.read_todos(use.input)
            if todos is not None:
                self._todos = [(status, item) for status, item in todos if self._keeps_todo(status, item)]
            for value in use.input.values():
                if isinstance(value, str) and len(value) <= 200:
                    for entity in _entities(value):
                        self._add_entity(entity, TOOL_INPUT)
            command = agent_steps.command_of(use.name, use.input)
            if command:
                for entity in _commands(command):
                    self._add_entity(entity, TOOL_INPUT | COMMAND)
        if len(text) >= _ANSWER_MIN_CHARS:
            self._questions.clear()  # a substantive reply answers what the user asked before it
        if turn:
            self._read_sentences(turn, from_user=False)
        if not with_tools and self._edited >= 0 and "\n" in text:
            # an agent's report after its edits: "- `flush()` now swaps `buf` under the mutex."
            for item, sentence in _wrap_up_items(text):
                self._complete(item, sentence, False, "report_item")
        if not with_tools and text:
            # an agent's closing words, a chat's answer: each clause may be a step or a loop
            self._propose_clauses(text, False, "report_clause", steps=True)

    def _propose_clauses(self, text: str, from_user: bool, source: str, steps: bool) -> None:
        """Each clause of a turn's sentences proposed as a step and as a loop: of a clause read
        several ways (whole, or one of its comma-separated parts) only the best-scoring way."""
        role = "user" if from_user else "assistant"
        for variants in _report_clauses(text, from_user):
            sentence = variants[0][1]
            if from_user and _REQUEST_START.match(sentence.lower()):
                continue  # a request is the intent, neither a step nor a loop
            if steps:
                # "I'll add a benchmark next", "Is the ticker needed?": no step
                done = [variant for variant in variants if from_user or not planned_or_asked(variant[0], sentence)]
                if done:
                    (item, _, where), score = self._best("completed_steps", done, source, role)
                    self._complete(item, sentence, from_user, source, closes=False, extra=where, score=score)
            (item, _, where), score = self._best("open_loops", variants, source, role)
            self._open(item, sentence, from_user, source, extra=where, score=score)

    def _best(self, field: Field, variants: Sequence[_Variant], source: str, role: str) -> tuple[_Variant, float | None]:
        """The variant of a clause the selector scores highest, with its score (the only one, not scored yet)."""
        if len(variants) == 1:
            return variants[0], None
        return max(((variant, self._candidate_score(field, variant[0], source, role, variant[2])) for variant in variants), key=lambda pair: pair[1])

    def _keeps_todo(self, status: str, item: str) -> bool:
        field: Field = "completed_steps" if status == "completed" else "open_loops"
        return self._candidate_score(field, item, f"todo_{status}", "assistant") > 0.0

    def _add_tool_result(self, result: ToolResultBlock) -> None:
        self._last_result_turn = self._turns
        use = self._tool_calls.get(result.tool_use_id)
        output = _window(result.text())
        outcomes = agent_steps.read_tool_call(use.name, use.input, output, result.is_error) if use is not None else ()
        failed = FAILED_RESULT if result.is_error or any(outcome.kind == "open" for outcome in outcomes) else 0
        for error in extract_errors(output):
            self._add_entity(error, TOOL_OUTPUT | failed)
        for path in extract_paths(output) if failed else ():  # the files a failure names: a test's, a linter's
            self._add_entity(path, TOOL_OUTPUT | failed)
        if use is None:
            return
        self._track_git(agent_steps.command_of(use.name, use.input), outcomes, output, result.is_error)
        if not outcomes and result.is_error:
            first_line = next((line.strip() for line in output.splitlines() if line.strip()), "")
            outcomes = (agent_steps.Outcome("open", concise(f"{use.name} failed: {first_line}"), f"tool:{use.name}"),)
        elif not outcomes:
            outcomes = (agent_steps.Outcome("done", "", f"tool:{use.name}"),)  # closes the tool's failure, says nothing
        for outcome in outcomes:
            self._add_outcome(outcome, use)

    def _add_outcome(self, outcome: agent_steps.Outcome, use: ToolUseBlock) -> None:
        """A tool call's outcome: it closes or supersedes the loops of its key, and is listed if chosen."""
        keys = {outcome.key, *outcome.also}
        for loop in [loop for loop in self._loops if loop.tool in keys]:
            if outcome.kind == "open":
                self._loops.remove(loop)  # superseded by the newer failure
            else:
                self._resolve(loop)
        if outcome.kind == "done" and outcome.key.startswith("check:"):
            for loop in [loop for loop in self._loops if not loop.tool and not loop.keys.isdisjoint(_CHECK_WORDS)]:
                self._resolve(loop)  # "the test fails", "CI is red": a passing check closes it
        if not outcome.text:
            return
        source = outcome.key.split(":", 1)[0]
        score = self._proposal_score("open_loops" if outcome.kind == "open" else "completed_steps", outcome.text, source, False)
        if score is None:
            return
        self._note(outcome.text, _describe_call(use))
        if outcome.kind == "open":  # tracked, listed or not: the same tool's success closes it
            self._loops.append(_Loop(outcome.text, keywords(outcome.text), outcome.key, self._turns, listed=score > 0.0))
        elif score <= 0.0:
            return
        elif outcome.key in self._keyed_steps:
            self._steps[self._keyed_steps[outcome.key]] = outcome.text
        else:
            self._keyed_steps[outcome.key] = len(self._steps)
            self._steps.append(outcome.text)
            if outcome.key.startswith("pr:") and outcome.ref:
                self._references.add(outcome.ref)  # the agent's report of it ("PR: …/pull/214") retells it

    def _track_git(self, command: str | None, outcomes: tuple[agent_steps.Outcome, ...], output: str, is_error: bool) -> None:
        """Where the agent's git work stands after one tool call (see ``_git_loops``)."""
        if agent_steps.pushes(command, output, is_error):
            self._pushed = self._turns
        for outcome in outcomes:
            if outcome.key.startswith("commit:"):
                self._committed = self._turns
                self._commit_hash = outcome.ref
                if outcome.ref:
                    self._hashes.add(outcome.ref)
            if outcome.key.startswith("pr:") and outcome.ref:
                self._prs[outcome.ref] = None
        merged = agent_steps.merged_pr(command, is_error)
        if merged:
            self._prs.pop(merged, None)

    def _note(self, item: str, sentence: str) -> None:
        note = self._evidence[item] = {"turn": self._turns - 1, "text": _item(sentence)}
        listed = shown(item)
        if listed is not item:  # "I'll…" off: the evidence of the item as listed, too
            self._evidence[listed] = note
        self._notes += 1

    # ------------------------------------------------------------ sentences

    def _read_sentences(self, turn: _TurnReading, from_user: bool) -> None:
        for sentence in turn.sentences:
            reading = sentence.reading
            if reading.question:
                # a question is listed as asked; a sentence read as one without its "?" ("will do
                # the profiling later…") is cut like any other item
                asked = sentence.item if sentence.item.endswith(("?", "？")) else concise(reading.sentence)
                score = self._proposal_score("open_loops", asked, "question", from_user)
                if score is not None:
                    self._questions.append((asked, score > 0.0))
                    if score > 0.0 or self._final_lifts("open_loops", "question", from_user, score):
                        self._note(asked, reading.sentence)
                    self._keep_if_final("open_loops", asked, "question", from_user, score)
            if reading.done and not (from_user and self._user_turns == 1):
                # the first user turn sets the scene ("I inherited this script"): no step yet
                self._complete(concise(reading.done_clause), reading.sentence, from_user, "prose", extra=_prose_marks(reading))
            if reading.open and not (from_user and _REQUEST_START.match(reading.sentence.lower())):
                # "Help me fix the flaky test": the request is the intent; its problem is opened
                # by the sentences that report it ("It still fails on CI")
                context = self._previous_lead if reading.previous is None else reading.previous
                self._open(_open_item(reading, context), reading.sentence, from_user, "prose", context, _prose_marks(reading))
            if reading.decision:
                self._decisions.setdefault(sentence.item, None)
            if reading.constraint:
                self._constraints.setdefault(sentence.item, None)

    def _proposal_score(
        self, field: Field, item: str, source: str, from_user: bool, extra: tuple[str, ...] = (), score: float | None = None
    ) -> float | None:
        """The selector's score of a candidate (listed when positive), from its text and where it
        comes from (``score``: known already); None when this turn proposed it already (the cues read the clause)."""
        if (field, item) in self._proposed:
            return None
        self._proposed.add((field, item))
        if score is not None:
            return score
        return self._candidate_score(field, item, source, "user" if from_user else "assistant", extra)

    @property
    def recent_text_turns(self) -> list[int]:
        """The latest text turns (0-based), oldest first: the ones whose candidates ``final_features`` may lift."""
        return [turn for turn, _ in self._recent]

    def _final_lifts(self, field: Field, source: str, from_user: bool, score: float) -> bool:
        """The ``final_features`` may lift a text candidate's score above 0 (while its turn is one of the latest)."""
        return source in TEXT_SOURCES and score + self._selector.best_bonus(field, source, "user" if from_user else "assistant") > 0.0

    def _keep_recent(self, field: Field, item: str, source: str, from_user: bool, score: float) -> None:
        """A text candidate not listed that the ``final_features`` may lift: judged again at ``build``."""
        self._recent[-1][1].append((field, item, source, "user" if from_user else "assistant", score))

    def _keep_if_final(self, field: Field, item: str, source: str, from_user: bool, score: float) -> None:
        """A text candidate not listed that the ``final_features`` may lift: kept while its turn is recent."""
        if score <= 0.0 and self._final_lifts(field, source, from_user, score):
            self._keep_recent(field, item, source, from_user, score)

    def _lifted(self) -> list[tuple[Field, str]]:
        """The recent turns' candidates their turn's rank among the latest lifts above 0, oldest
        turn first; a step that retells a step listed or lifted before (its PR / step numbers,
        else half its words) once (kept from the last ``build`` while no candidate or text turn
        was added since)."""
        state = tuple((turn, len(kept)) for turn, kept in self._recent)
        if self._built_lifted[0] != state:
            bonus = self._selector.bonus
            lifted: list[tuple[Field, str]] = []
            references = set(self._references)
            told: list[frozenset[str]] = []
            for index, (_, kept) in enumerate(self._recent):
                rank = len(self._recent) - 1 - index
                for field, item, source, role, score in kept:
                    if score + bonus(field, source, role, rank) <= 0.0:
                        continue
                    if field == "completed_steps":
                        named, keys = _references(item), keywords(item)
                        if (named and named <= references) or (not named and any(_retells(keys, other) for other in told)):
                            continue
                        references |= named
                        told.append(keys)
                    lifted.append((field, item))
            self._built_lifted = (state, lifted)
        return self._built_lifted[1]

    def _candidate_score(self, field: Field, item: str, source: str, role: str, extra: tuple[str, ...] = ()) -> float:
        """The selector's score of a text candidate; what tool calls, ``TodoWrite`` and git state
        say is listed by rule (structure before prose), and only recorded when collecting."""
        text = source in TEXT_SOURCES
        if not text and self.candidates is None:
            return math.inf
        features = candidate_features(item, f"{source}:{role}" if not self._tool_calls else f"{source}:{role}:agent", extra)
        if self.candidates is not None:
            self.candidates[(field, item)] = Candidate(features, self._turns - 1, role, text, source)
        return self._selector.score(field, features) if text else math.inf

    def _open(
        self, item: str, sentence: str, from_user: bool, source: str, context: str = "", extra: tuple[str, ...] = (), score: float | None = None
    ) -> None:
        """A loop opened: tracked (closed by a later completion, replaced by newer news) when the
        cues read it, listed when the selector keeps it."""
        keys = keywords(item)
        if len(keys) < _MIN_ITEM_KEYWORDS:
            if not item or not context:
                return
            keys = keys | keywords(context)  # "It still fails on CI": what "it" is comes before
            if len(keys) < _MIN_ITEM_KEYWORDS:
                return
        score = self._proposal_score("open_loops", item, source, from_user, extra, score)
        if score is None:
            return
        put_off = deferred(sentence)
        # By rule: work put off stays open, and so does a problem the user says still is ("It still
        # fails on CI"), until a later turn closes it
        listed = score > 0.0 or (source == "prose" and (put_off or (from_user and "still" in extra)))
        lifted = not listed and self._final_lifts("open_loops", source, from_user, score)
        if (listed or lifted) and self._told_here("open_loops", sentence, keys):
            return
        if listed or lifted:
            self._note(item, sentence)
        if lifted:
            self._keep_recent("open_loops", item, source, from_user, score)
        if not listed and source not in _TRACKED_SOURCES:
            return
        for index, loop in enumerate(self._loops):
            if keys.isdisjoint(loop.keys):  # most loops: no set built
                continue
            if len(keys & loop.keys) >= min(len(keys), len(loop.keys)) // 2:
                self._loops[index] = _Loop(item, keys | loop.keys, loop.tool, self._turns, put_off, listed)  # newer news
                return
        self._loops.append(_Loop(item, keys, turn=self._turns, deferred=put_off, listed=listed))

    def _complete(
        self,
        item: str,
        sentence: str,
        from_user: bool,
        source: str,
        closes: bool = True,
        extra: tuple[str, ...] = (),
        score: float | None = None,
    ) -> None:
        keys = keywords(item)
        references = _references(sentence)
        if closes:
            self._close(keys, from_user)
        if len(keys) < _MIN_ITEM_KEYWORDS and not references:
            return  # "Reproduced.", "That worked.": it closes a problem but names no step
        score = self._proposal_score("completed_steps", item, source, from_user, extra, score)
        if score is not None and references and cues.says_done(sentence.lower()):
            score = math.inf  # by rule, like tool outcomes: a completion naming its PR / step number ("Completed PR #1")
        if score is None or (score <= 0.0 and not self._final_lifts("completed_steps", source, from_user, score)):
            return  # most clauses: not listed, no need to look for the step they would retell
        step_key = " ".join(sorted(keys))
        if (references and references <= self._references) or (not references and step_key in self._step_keys):
            return  # the same PR / step reported again
        if not references and (keys & self._hashes or any(_retells(keys, keywords(step)) for step in self._steps[-8:])):
            return  # prose retelling a step already taken ("Committed as 9b04d1e" after the commit itself)
        if self._told_here("completed_steps", sentence, keys):
            return
        self._note(item, sentence)
        if score <= 0.0:
            self._keep_recent("completed_steps", item, source, from_user, score)
            return
        self._references |= references
        self._step_keys.add(step_key)
        self._steps.append(item)

    def _told_here(self, field: Field, sentence: str, keys: frozenset[str]) -> bool:
        """Whether an item of this turn's ``sentence`` listed already retells this one; if not, it is noted as listed."""
        told = self._listed_here.setdefault((field, sentence), [])
        if any(_retells(keys, other) for other in told):
            return True
        told.append(keys)
        return False

    def _close(self, keys: frozenset[str], from_user: bool) -> None:
        """The loops a completion closes: those it names (work put off needs two of its words)."""
        closing = [
            loop for loop in self._loops if not keys.isdisjoint(loop.keys) and (not loop.deferred or len(keys & loop.keys) >= 2)
        ]
        if not closing and self._loops and (from_user or not keys):
            # "that fixed it", "C'est corrigé": the user closes the problem reported last
            closing = [loop for loop in self._loops if loop.turn == self._loops[-1].turn and not loop.deferred]
        for loop in closing:
            self._resolve(loop)

    def _resolve(self, loop: _Loop) -> None:
        self._loops.remove(loop)
        self._resolved.append(loop.text)

    # ------------------------------------------------------------ result

    def _confidence(self, entities: list[str]) -> float:
        if not self._intent:
            return 0.0
        inputs = (self._intent, self._chooser.probability, self._chooser.changes, len(self._supported), entities)
        if self._built_confidence[0] != inputs:
            self._built_confidence = (inputs, self._score(entities))
        return self._built_confidence[1]

    def _score(self, entities: list[str]) -> float:
        words = self._intent_words
        support = len(self._supported) / len(words) if words else 0.0
        intent = self._intent.lower()
        names_entity = any(e.lower() in intent for e in entities)
        score = self._chooser.probability + 0.3 * support + 0.1 * names_entity - 0.15 * self._chooser.changes
        return round(min(1.0, max(0.0, score)), 2)

    def _still_failing(self, loop: _Loop) -> bool:
        """A command or tool call that failed (not a check: a probe, a refused edit, a lookup with
        no match) is how an agent explores: open work only while it is the latest result. Listed
        whatever came after, such failures were wrong 11 times in 11 on dev."""
        return not loop.tool.startswith(("cmd:", "tool:")) or loop.turn == self._last_result_turn

    def _git_loops(self) -> list[str]:
        """What an agent left half-way in git: edits not committed, a commit not pushed, PRs open."""
        loops = []
        if self._edited > self._committed:
            if self._committed >= 0 or self._commit_talk:
                loops.append("changes not committed")
        elif self._committed >= 0 and self._committed > self._pushed:
            loops.append(f"commit {self._commit_hash} not pushed" if self._commit_hash else "commit not pushed")
        loops += [f"PR #{number} awaiting review" for number in self._prs]
        return [loop for loop in loops if self._candidate_score("open_loops", loop, "git", "assistant") > 0.0]

    def _open_or_done(self, steps: list[str], loops: list[str]) -> tuple[list[str], list[str]]:
        """A sentence both models list is one or the other, not open and done: open when it puts
        work off or says something still is or is not ("18th not loaded", "still flaky"), else a step."""
        done = set(steps)
        step_at = {where: step for step in steps if (where := self._said_where(step))}
        kept = []
        for loop in loops:
            where = self._said_where(loop)
            if loop in done or (where in step_at and where is not None and not _reads_open(where[1])):
                continue
            kept.append(loop)
            if where in step_at:
                done.discard(step_at[where])
        return [step for step in steps if step in done], kept

    def _said_where(self, item: str) -> tuple[object, str] | None:
        """The turn and sentence an item was read from (its evidence), if noted."""
        note = self._evidence.get(item)
        return (note["turn"], str(note["text"])) if note else None

    def _evidence_of(self, items: list[str]) -> dict[str, dict[str, object]]:
        """Each item's evidence, in the items' order (iterated in C: ``build`` runs every turn)."""
        built_items, built_notes, built = self._built_evidence
        if built_notes != self._notes or built_items != items:
            known = list(filter(self._evidence.__contains__, items))
            built = dict(zip(known, map(self._evidence.__getitem__, known)))
            self._built_evidence = (items, self._notes, built)
        return dict(built)

    def build(self) -> Sitrep:
        steps = list(self._steps)
        git_loops = self._git_loops()
        loops = [loop.text for loop in self._loops if loop.listed and self._still_failing(loop)] + git_loops
        for status, item in self._todos:
            (steps if status == "completed" else loops).append(item)
        loops += [question for question, listed in self._questions if listed]
        for kind, item in self._lifted():  # the latest turns' candidates their final_features list
            (steps if kind == "completed_steps" else loops).append(item)
        entities = self._entities.top(entity_limit(self._turns))
        if steps and loops:
            steps, loops = self._open_or_done(steps, loops)
        if self._prs:  # "PR #96 is open: …/pull/96" retells "PR #96 awaiting review"
            awaiting = self._prs.keys()
            loops = [loop for loop in loops if loop in git_loops or not (refs := _references(loop)) or not refs <= awaiting]
        self._unique_loops(loops), self._unique_steps(steps)
        listed_loops, listed_steps = self._unique_loops.listed(), self._unique_steps.listed()
        return Sitrep(
            intent=self._intent,
            confidence=self._confidence(entities),
            entities=entities,
            open_loops=listed_loops,
            completed_steps=listed_steps,
            resolved_loops=self._unique_resolved(self._resolved),
            decisions=list(self._decisions),
            constraints=list(self._constraints),
            turn_count=self._turns,
            evidence=self._evidence_of(listed_steps + listed_loops),
        )


# Edits an agent leaves uncommitted are open work only in a session that speaks of committing
# ("commit it when green", "não commitei nada"): elsewhere committing is the person's own next step,
# and a SITREP listing it for every editing session was wrong 93 times in 102 on dev.
_COMMIT_TALK = re.compile(r"\bcommit", re.IGNORECASE)

# A name a person quotes as code: `createRoot`, `Stats()`, `atomic.Int64`, `test_checkout`.
_CODE_SPAN = re.compile(r"`([A-Za-z_@.][\w@.:/()\[\]-]{2,48})`")
#: An expression rather than a name: `len(b.buf)`, `first(3)` (`flush()` names a function).
_CALL_WITH_ARGUMENTS = re.compile(r"\([^)]")
_CODE_NAME = re.compile(r"[A-Za-z]+[A-Z_.(@][\w.()]*|[a-z]+_[a-z_]+")


@lru_cache(maxsize=_CACHED_TEXTS)
def _code_names(text: str) -> tuple[str, ...]:
    """Quoted code names of a prose turn that look like identifiers (not plain words like `true`)."""
    return tuple(
        name for name in _CODE_SPAN.findall(text) if (_CODE_NAME.fullmatch(name) or "/" in name) and not _CALL_WITH_ARGUMENTS.search(name)
    )


@lru_cache(maxsize=_CACHED_TEXTS)
def _phrases(text: str) -> tuple[str, ...]:
    """Other quoted spans of a turn (commands, flags, phrases, short paths), not read as names
    otherwise; not expressions (`len(b.buf)`)."""
    named = _code_names(text)
    return tuple(phrase for phrase in quoted_phrases(text) if phrase not in named and not _CALL_WITH_ARGUMENTS.search(phrase))


@lru_cache(maxsize=_CACHED_TEXTS)
def _commands(command: str) -> tuple[str, ...]:
    return tuple(command_names(command))


# A list item of a report: "- `app/routers/items.py`: offset is now (page - 1) * size", "2. Added …".
# Searched in the text after a "\n", that opens every line: a pattern opening with a literal is
# scanned for it in C, where ``^`` under re.M is tried at every position.
_LIST_ITEM = re.compile(r"\n[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+([^\n]+)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@lru_cache(maxsize=_CACHED_TEXTS)
def _wrap_up_items(text: str) -> tuple[tuple[str, str], ...]:
    """The items of a report's lists that say what was done (their first sentence each): not a
    question, a plan, something pending or a problem left."""
    items = []
    for line in _LIST_ITEM.findall("\n" + text):
        sentence = _SENTENCE_END.split(line.strip(), 1)[0]
        lowered = sentence.lower()
        if cues.is_question(lowered) or cues.is_planned_or_open(lowered):
            continue
        item = concise(sentence)
        if item:
            items.append((item, sentence))
    return tuple(items)


# Where a report's sentence holds two things: "…, and the SA1019 warnings are gone", "…; …".
_REPORT_CLAUSE_SPLIT = re.compile(r";\s+|,\s+(?:and|but|so|which|while)\s+|\s+(?:—|–|-)\s+")
_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)


#: One reading of a clause: its item, its sentence and what is known of it (``_report_clauses``).
_Variant = tuple[str, str, tuple[str, ...]]
#: The readings of one clause: whole, and each of its comma-separated parts.
_Variants = tuple[_Variant, ...]
_COMMA = re.compile(r",\s+")
#: A clause of more words than this is also read as its comma-separated parts (a shorter one is
#: read whole: its parts were seldom the better read, and each read costs its features).
_PARTS_FROM_WORDS = 8


@lru_cache(maxsize=_CACHED_TEXTS)
def _report_clauses(text: str, from_user: bool) -> tuple[_Variants, ...]:
    """The clauses of every sentence of a text turn (fenced code and log lines aside), each
    concise, with its sentence and what is known of it: its place (a list item, the sentence's
    first clause or a later one), what its sentence says (``items.sentence_features``) and what
    the cues read there (done, open). A long clause holding commas is also read as each of its
    parts ("part"): a person's summary is often one of them."""
    said = {sentence.reading.sentence: sentence.reading for sentence in _read(text, from_user).sentences}
    clauses = []
    for _, line, sentence, readable in cues.lines(_FENCE.sub("\n", text) if "```" in text else text):
        if len(sentence) < 8 or not readable:
            continue
        marks = (*sentence_features(sentence), *_said(said.get(sentence)))
        if len(sentence) < len(line):
            marks += ("bullet",)
        for index, part in enumerate(_REPORT_CLAUSE_SPLIT.split(sentence)):
            place = "clause=later" if index else "clause=first"
            whole = core(concise(part))
            variants = [(whole, sentence, (*marks, place))] if len(keywords(whole)) >= _MIN_ITEM_KEYWORDS else []
            if ", " in part and part.count(" ") >= _PARTS_FROM_WORDS:
                for piece in _COMMA.split(part):
                    item = core(concise(piece))
                    if len(keywords(item)) >= _MIN_ITEM_KEYWORDS and all(item != known for known, _, _ in variants):
                        variants.append((item, sentence, (*marks, place, "part")))
            if variants:
                clauses.append(tuple(variants))
    return tuple(clauses)


@lru_cache(maxsize=_CACHED_TEXTS)  # a sentence's clauses are each a candidate: read once
def _references(sentence: str) -> frozenset[str]:
    """The PR / issue / step numbers a sentence names."""
    if not _DIGIT.search(sentence):
        return frozenset()
    return frozenset(named or bare or linked for named, bare, linked in _REFERENCE.findall(sentence.lower()))


def _prose_marks(reading: cues.Reading) -> tuple[str, ...]:
    """What is known of a clause the cues read: its sentence's features and the cues' reading."""
    return (*sentence_features(reading.sentence), *_said(reading))


def _said(reading: cues.Reading | None) -> tuple[str, ...]:
    """What the cues read in a sentence, as features of its clauses."""
    if reading is None:
        return ()
    return tuple(name for name, found in (("said_done", reading.done), ("said_open", reading.open)) if found)


_TRAILING_CONNECTIVE = re.compile(r"[\s,;:-]*\b(?:but|and|so|though|however|yet|although)$", re.IGNORECASE)
#: Words that stand for a thing named before: "do that tomorrow", "that's for next sprint".
_STAND_INS = frozenset("it that this them those".split())


def _open_item(reading: cues.Reading, context: str) -> str:
    """The loop a sentence opens as an item; a clause that names its object only by a pronoun
    ("… the filename should include the date range but do that tomorrow") takes the clause or
    sentence before it along."""
    item = concise(reading.open_clause)
    words = item.lower().split()
    if _STAND_INS.isdisjoint(words) or len(keywords(item)) >= 3:
        return item
    before = reading.sentence[: reading.sentence.find(reading.open_clause)] if reading.open_clause in reading.sentence else ""
    named = _TRAILING_CONNECTIVE.sub("", concise(before)) or concise(context)
    if not named:
        return item
    room = MAX_ITEM_WORDS - len(words)
    return f"{' '.join(named.split()[:max(room, 3)])}: {item}"


# A sentence saying something is not so ("18th not loaded"); not the cues' wider negation, whose
# "no" reads "no ioutil left" as open.
_NEGATED = re.compile(r"\b(?:not|never|isn't|wasn't|hasn't|haven't|didn't|aren't|doesn't|don't)\b")


def _reads_open(sentence: str) -> bool:
    """The sentence puts work off, or says something still is or is not."""
    lowered = sentence.lower()
    return deferred(sentence) or cues.says_still(lowered) or bool(_NEGATED.search(lowered))


def _retells(keys: frozenset[str], step_keys: frozenset[str]) -> bool:
    """A step's words that cover half of the shorter of two steps: the same step told again."""
    return len(keys & step_keys) * 2 >= min(len(keys), len(step_keys))


def _names_folder(path: str) -> bool:
    """The path names a folder or a route, not a file: its last name has no extension."""
    return "." not in path.rsplit("/", 1)[-1].strip(".")


def _project_path(path: str) -> str:
    """An absolute path as the project names it: ``/home/maya/src/api/app/main.py`` → ``app/main.py``.

    A directory or a URL route (no file name with an extension) is kept as written: ``/api/export``.
    """
    if _names_folder(path):
        return path
    match = _HOME_PREFIX.match(path)
    if not match:
        return path
    rest = path[match.end() :].split("/")
    for index, part in enumerate(rest[:-1]):
        following = rest[index + 1]
        if part in _PROJECT_DIRS and not ("-" in following and index + 2 < len(rest)):
            return "/".join(rest[index:])  # not "src/inventory-api/…": a folder of repositories
    return "/".join(rest[2:]) if len(rest) > 2 else rest[-1]


def _describe_call(use: ToolUseBlock) -> str:
    """``bash (pytest -q)``: the tool and its first short string argument."""
    argument = next((v for v in use.input.values() if isinstance(v, str) and 0 < len(v) <= 60), "")
    return f"{use.name} ({argument})" if argument else use.name


def extract_sitrep(messages: list[Message], selector: Selector | None = None) -> Sitrep:
    """The SITREP of a whole conversation (``selector``: other models than the shipped ones)."""
    builder = SitrepBuilder(selector)
    for message in messages:
        builder.add(message)
    return builder.build()


def _section(label: str, items: list[str], limit: int) -> str:
    return f"{label}: " + "; ".join(items[-limit:]) if items and limit else ""


def render_sitrep(sitrep: Sitrep, max_tokens: int | None = None) -> str:
    """The SITREP as a compact ``[TROOPER_SITREP]`` block for prompt injection.

    With ``max_tokens``, the longest lists lose their oldest items first (halving), then the
    intent is cut; ``""`` when not even the frame fits.
    """
    limits = {"entities": 15, "open": 8, "done": 8, "decisions": 5, "constraints": 5}
    intent = sitrep.intent
    while True:
        text = _render(sitrep, intent, limits)
        if max_tokens is None or count_tokens(text) <= max_tokens:
            return text
        widest = max(limits, key=lambda name: limits[name])
        if limits[widest]:
            limits[widest] //= 2
        elif intent:
            words = intent.split()
            intent = " ".join(words[: len(words) // 2])
        else:
            return ""


def _render(sitrep: Sitrep, intent: str, limits: dict[str, int]) -> str:
    lines = [
        "[TROOPER_SITREP]",
        f"intent: {intent} (confidence {sitrep.confidence:.2f})" if intent else "",
        _section("entities", sitrep.entities[: limits["entities"]], limits["entities"]),
        _section("open", sitrep.open_loops, limits["open"]),
        _section("done", sitrep.completed_steps, limits["done"]),
        _section("decisions", sitrep.decisions, limits["decisions"]),
        _section("constraints", sitrep.constraints, limits["constraints"]),
        "[/TROOPER_SITREP]",
    ]
    return "\n".join(line for line in lines if line)


def clear_cache() -> None:
    """Forget the readings kept of earlier texts: benchmarks start each round cold with it."""
    for cached in (
        _read, _entities, _stem, _code_names, keywords, _wrap_up_items, _phrases, _commands,
        _report_clauses, _references, candidate_features, text_features, sentence_features, deferred, shown,
    ):
        cached.cache_clear()
    cues.lines.cache_clear()
    entity_ranker.clear_cache()
    _clear_intent_cache()
