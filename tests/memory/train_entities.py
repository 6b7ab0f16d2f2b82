"""Fit the SITREP's entity ranker on the dev split: ``python -m tests.memory.train_entities``.

    --check   fit and compare with the shipped model instead of writing it (exit 1 when they differ)

Every candidate name the extractor finds in a dev session is an example, positive when it matches
one of the session's labelled entities by the scorer's own normalisation (``normal_entity``). The
script reports 5-fold cross-validated F1 over sessions (fit on 4/5 of the sessions, list the
held-out fifth's entities and score them with the real scorer, micro-averaged), for each
probability cut-off and each cap on the names listed (one for short sessions, one for longer
ones) tried; the best cut-off is folded into the bias of the model fitted on all of dev, written
to ``trooper/memory/sitrep/models/entities.json`` (same data, same bytes), and the best caps must
be the ranker's (``MAX_ENTITIES_SHORT``, ``MAX_ENTITIES_LONG``): the script says which to set
otherwise and exits 1. The test split is never read.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.memory.corpus import LabelledSession, Tally, entity_match, load_split, normal_entity, one_to_one
from tests.memory.linear_fit import fit, folds, writer_folds
from trooper.memory.sitrep import SitrepBuilder
from trooper.memory.sitrep.entity_ranker import (
    MAX_ENTITIES_LONG,
    MAX_ENTITIES_SHORT,
    MODEL,
    SHORT_SESSION_TURNS,
    choose,
    entity_limit,
)
from trooper.memory.sitrep.linear import LinearModel

MODEL_PATH = Path(__file__).resolve().parents[2] / "trooper" / "memory" / "sitrep" / "models" / f"{MODEL}.json"
#: Probability cut-offs tried: a name is listed when the model gives it more than this.
CUT_OFFS = (0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
#: Caps tried: (names listed at most in a session of up to ``SHORT_SESSION_TURNS`` turns, in a longer one).
CAPS = ((8, 8), (8, 9), (8, 10), (9, 9), (9, 10), (9, 11), (10, 10))
FOLDS = 5
Candidates = list[tuple[str, tuple[str, ...]]]


def candidates(session: LabelledSession) -> Candidates:
    """The session's candidate names with their features, as the builder records them."""
    builder = SitrepBuilder()
    for message in session.messages:
        builder.add(message)
    return builder.entity_candidates()


def examples(session: LabelledSession, found: Candidates) -> list[tuple[tuple[str, ...], bool]]:
    labels = {normal_entity(label) for label in session.expected["entities"]}
    return [(features, normal_entity(name) in labels) for name, features in found]


def cut(model: LinearModel, probability: float) -> LinearModel:
    """The model with the cut-off folded into its bias: listed when the score is above 0."""
    return LinearModel(model.weights, model.bias - math.log(probability / (1 - probability)))


def score(sessions: Sequence[tuple[LabelledSession, Candidates]], model: LinearModel, caps: tuple[int, int]) -> Tally:
    tally = Tally()
    for session, found in sessions:
        listed, labels = choose(found, model, entity_limit(len(session.messages), *caps)), session.expected["entities"]
        tally.add(one_to_one(labels, listed, entity_match, 1.0), len(labels), len(listed))
    return tally


def train(sessions: Sequence[tuple[LabelledSession, Candidates]]) -> LinearModel:
    return fit([example for session, found in sessions for example in examples(session, found)])


Choice = tuple[float, tuple[int, int]]  # a cut-off and the caps


def cross_validate(sessions: Sequence[tuple[LabelledSession, Candidates]], by_writer: bool = False) -> dict[Choice, Tally]:
    """Micro-averaged held-out tallies, per cut-off and caps, over ``FOLDS`` folds of the sessions
    (or one fold per writer)."""
    tallies = {(probability, caps): Tally() for probability in CUT_OFFS for caps in CAPS}
    splits = writer_folds(sessions, lambda pair: pair[0].writer) if by_writer else folds(sessions, FOLDS)
    for fitting, held_out in splits:
        model = train(fitting)
        for (probability, caps), tally in tallies.items():
            fold = score(held_out, cut(model, probability), caps)
            tally.add(fold.matched, fold.expected, fold.extracted)
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped model, write nothing")
    args = parser.parse_args(argv)
    sessions = [(session, candidates(session)) for session in load_split("dev")]
    positives = sum(label for session, found in sessions for _, label in examples(session, found))
    labelled = sum(len(session.expected["entities"]) for session, _ in sessions)
    print(f"dev: {len(sessions)} sessions, {sum(len(f) for _, f in sessions)} candidates, {positives} positive; {labelled} labels")
    tallies = cross_validate(sessions)
    print(f"{FOLDS}-fold cross-validated entities (held-out sessions; caps: at most this many names up to {SHORT_SESSION_TURNS} turns / after):")
    print("cut-off   caps  precision  recall     F1")
    for (probability, caps), tally in tallies.items():
        print(f"{probability:7.2f}  {caps[0]:2} / {caps[1]:2}  {tally.precision:9.3f}  {tally.recall:6.3f}  {tally.f1:5.3f}")
    # Ties go to the higher cut-off and the fewer names: the simpler listing.
    best = max(tallies, key=lambda choice: (round(tallies[choice].f1, 4), choice[0], -sum(choice[1])))
    probability, caps = best
    model = cut(train(sessions), probability)
    fitted = score(sessions, model, caps)
    print(f"chosen cut-off {probability}, caps {caps}: cross-validated F1 {tallies[best].f1:.3f}; fitted on all of dev, dev F1 {fitted.f1:.3f}")
    print(f"each writer held out in turn (a labeller not seen): F1 {cross_validate(sessions, by_writer=True)[best].f1:.3f}")
    heaviest = sorted(model.weights.items(), key=lambda pair: (-abs(pair[1]), pair[0]))[:15]
    print("heaviest features: " + ", ".join(f"{name} {weight:+.2f}" for name, weight in heaviest))
    text = model.to_json()
    if caps != (MAX_ENTITIES_SHORT, MAX_ENTITIES_LONG):
        print(f"set MAX_ENTITIES_SHORT = {caps[0]} and MAX_ENTITIES_LONG = {caps[1]} in trooper/memory/sitrep/entity_ranker.py")
        if args.check:
            return 1
    if args.check:
        same = MODEL_PATH.exists() and MODEL_PATH.read_text(encoding="utf-8") == text
        print("the shipped model is what this script fits" if same else f"{MODEL_PATH} differs from what this script fits")
        return 0 if same else 1
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    MODEL_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
