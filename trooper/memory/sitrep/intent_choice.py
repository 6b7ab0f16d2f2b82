"""Which statement of a goal is the session's intent: a linear model over shape features.

``intent.read_candidates`` offers, for a user turn, every way it states a goal (a request cut
from its verb on, a question, what the user is doing, a problem, a sentence whole); the model
``models/intent.json`` (fitted by ``python -m tests.memory.train_intent`` on the dev split)
scores each from its shape and its turn's place in the session, and the best seen so far is the
intent. Only the first user turns are read, and later ones that may change the task ("different
thing:", "actually … instead"), so a turn costs nothing once the goal is stated. The choice is a
running maximum, so folding turns one by one gives what reading the session whole gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from trooper.memory.sitrep.intent import Candidate, may_change_task, read_candidates
from trooper.memory.sitrep.linear import LinearModel, load_model

#: User turns whose candidates are always read: the goal is stated in one of the first.
OPENING_TURNS = 2
#: Further user turns read while none has asked for anything or reported a problem ("hey" /
#: "the demo went well" / "any ideas for a team dinner place?").
WAITING_TURNS = 1
#: How far under the intent's score a candidate that changes the task may be and still replace it.
CHANGE_MARGIN = 1.0


#: Candidates that show a turn asked for something (or reported what it wants gone).
_ASKING = ("kind=request", "kind=question", "kind=problem")


@lru_cache(maxsize=1024)  # a history the server rebuilds reads the same first turns again
def _candidates(text: str, changes_only: bool) -> tuple[Candidate, ...]:
    return read_candidates(text, changes_only)


def turn_features(candidate: Candidate, ordinal: int, asked_before: bool) -> list[str]:
    """The candidate's features with those of its turn's place: which user turn, whether an
    earlier one already asked for something, each crossed with the candidate's kind."""
    kind = next(feature for feature in candidate.features if feature.startswith("kind="))
    place = [f"turn={min(ordinal, OPENING_TURNS)}", *(["asked_before"] if asked_before else [])]
    if candidate.changes_task:
        place.append("changes_task")
    return [*candidate.features, *place, *(f"{kind}&{feature}" for feature in place)]


class IntentChooser:
    """The session's intent as user turns arrive: the best-scoring candidate so far."""

    def __init__(self, model: LinearModel | None = None) -> None:
        self._model = model or load_model("intent")
        self.text = ""
        #: How sure the model is that ``text`` states the goal: its share of the probability over
        #: every candidate read (a softmax of the scores), the confidence's base.
        self.probability = 0.0
        #: Times the intent moved to a candidate that changes the task.
        self.changes = 0
        self._score = -math.inf
        #: log Σ exp(score) of every candidate read: ``probability`` is the intent's softmax share.
        self._mass = -math.inf
        self._user_turns = 0
        self._asked = False

    def __deepcopy__(self, memo: dict[int, object]) -> IntentChooser:
        twin = IntentChooser.__new__(IntentChooser)
        twin.__dict__.update(self.__dict__)  # plain values, and the model, which is never changed
        return twin

    def add(self, text: str, words: set[str] | None = None) -> bool:
        """Read one user turn (``words``: its words, when known); ``True`` when the intent changed."""
        ordinal = self._user_turns
        self._user_turns += 1
        waiting = not self._asked and ordinal < OPENING_TURNS + WAITING_TURNS
        later = ordinal >= OPENING_TURNS and not waiting
        if later and not may_change_task(text, words):
            return False
        candidates = _candidates(text, later)
        scored = [(candidate, turn_features(candidate, ordinal, self._asked)) for candidate in candidates]
        self._asked = self._asked or any(kind in candidate.features for candidate in candidates for kind in _ASKING)
        return self.choose(scored)

    def choose(self, scored: Sequence[tuple[Candidate, list[str]]]) -> bool:
        """Keep the best of one turn's candidates if it beats the intent so far (the first wins a tie)."""
        best: tuple[float, Candidate] | None = None
        for candidate, features in scored:
            score = self._model.score(features)
            self._mass = _log_add(self._mass, score)
            bar = self._score - CHANGE_MARGIN if candidate.changes_task else self._score
            if score > bar and (best is None or score > best[0]):
                best = (score, candidate)
        if best is None:
            if self.text:
                self.probability = math.exp(self._score - self._mass)  # more alternatives, less sure
            return False
        score, candidate = best
        if self.text and candidate.changes_task:
            self.changes += 1
        self.text, self._score = candidate.text, score
        self.probability = math.exp(score - self._mass)
        return True


def _log_add(log_a: float, log_b: float) -> float:
    """log(exp(a) + exp(b)) without overflow."""
    high, low = max(log_a, log_b), min(log_a, log_b)
    return high if low == -math.inf else high + math.log1p(math.exp(low - high))


def clear_cache() -> None:
    _candidates.cache_clear()
