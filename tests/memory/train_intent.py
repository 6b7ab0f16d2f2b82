"""Fit the intent model on the dev split: ``python -m tests.memory.train_intent``.

Every statement of a goal the SITREP reads from a dev session (``intent.read_candidates``, in the
turns ``IntentChooser`` reads) is an example, labelled by the scorer's own rule: does it hold
every keyword of the session's label in its first 20 words. Prints the intent score on dev of
the model fitted on all of dev (plain) and 5-fold cross-validated (fitted on 4/5 of the
sessions, the held-out 1/5 scored through ``SitrepBuilder`` with the real scorer), then writes
the model fitted on all of dev to ``trooper/memory/sitrep/models/intent.json`` (same data, same
bytes). ``--check`` only prints. The test split is never read.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tests.memory.choice_fit import fit_choice
from tests.memory.corpus import LabelledSession, intent_hit, load_split
from tests.memory.linear_fit import folds, writer_folds
from trooper.memory.sitrep.builder import SitrepBuilder
from trooper.memory.sitrep.intent import Candidate
from trooper.memory.sitrep.intent_choice import IntentChooser
from trooper.memory.sitrep.linear import LinearModel

MODEL_PATH = Path(__file__).resolve().parents[2] / "trooper" / "memory" / "sitrep" / "models" / "intent.json"
#: Fitting settings: strong enough an L2 and a feature floor that one session's quirks weigh little.
SETTINGS = {"l2": 0.1, "epochs": 30, "min_count": 3}

Example = tuple[list[str], bool]


class _Recorder(IntentChooser):
    """An ``IntentChooser`` that keeps every candidate it was offered, with its features."""

    def __init__(self) -> None:
        super().__init__(LinearModel({}))
        self.seen: list[tuple[list[str], str]] = []

    def choose(self, scored: Sequence[tuple[Candidate, list[str]]]) -> bool:
        self.seen.extend((features, candidate.text) for candidate, features in scored)
        return super().choose(scored)


def examples_of(session: LabelledSession) -> list[Example]:
    """The session's candidates, labelled by the keyword rule; none for a session without keywords."""
    keywords = session.expected["intent_keywords"]
    if not keywords:
        return []
    recorder = _Recorder()
    builder = SitrepBuilder(intent=recorder)
    for message in session.messages:
        builder.add(message)
    return [(features, intent_hit(keywords, text)) for features, text in recorder.seen]


def intent_hits(model: LinearModel, sessions: Sequence[LabelledSession]) -> int:
    """How many sessions the SITREP built with ``model`` gets the intent of (the real scorer)."""
    hits = 0
    for session in sessions:
        builder = SitrepBuilder(intent=IntentChooser(model))
        for message in session.messages:
            builder.add(message)
        hits += intent_hit(session.expected["intent_keywords"], builder.build().intent)
    return hits


def cross_validated(sessions: Sequence[LabelledSession], examples: dict[str, list[Example]], by_writer: bool = False) -> float:
    """Held-out hits over 5 folds of the sessions, or one fold per writer."""
    hits = 0
    for train, held_out in writer_folds(sessions, lambda session: session.writer) if by_writer else folds(sessions, 5):
        model = fit_choice([examples[session.id] for session in train], **SETTINGS)
        hits += intent_hits(model, held_out)
    return hits / len(sessions)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print the figures, write no model")
    args = parser.parse_args(argv)
    sessions = load_split("dev")
    examples = {session.id: examples_of(session) for session in sessions}
    everything = [example for session in sessions for example in examples[session.id]]
    positives = sum(label for _, label in everything)
    reachable = sum(any(label for _, label in examples[s.id]) for s in sessions if s.expected["intent_keywords"])
    print(f"{len(sessions)} dev sessions, {len(everything)} candidates ({positives} state the goal); a perfect choice: {reachable}")
    model = fit_choice(list(examples.values()), **SETTINGS)
    print(f"intent on dev, model fitted on all of dev: {intent_hits(model, sessions) / len(sessions):.3f}")
    print(f"intent on dev, 5-fold cross-validated:     {cross_validated(sessions, examples):.3f}")
    print(f"intent on dev, each writer held out:       {cross_validated(sessions, examples, by_writer=True):.3f}")
    if not args.check:
        MODEL_PATH.parent.mkdir(exist_ok=True)
        MODEL_PATH.write_text(model.to_json(), encoding="utf-8")
        print(f"wrote {MODEL_PATH.relative_to(MODEL_PATH.parents[4])}")


if __name__ == "__main__":
    main()
