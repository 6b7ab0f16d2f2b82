"""Fit the SITREP's entity ranker on the dev split: ``python -m tests.memory.train_entities``.

    --check   fit and compare with the shipped model instead of writing it (exit 1 when they differ)

Every candidate name the extractor finds in a dev session is an example, positive when it matches
one of the session's labelled entities by the scorer's own normalisation (``normal_entity``). The
script reports 5-fold cross-validated F1 over sessions (fit on 4/5 of the sessions, list the
held-out fifth's entities and score them with the real scorer, micro-averaged), for each
probability cut-off tried; the best cut-off is folded into the bias of the model fitted on all of
dev, written to ``trooper/memory/sitrep/models/entities.json`` (same data, same bytes). The test
split is never read.
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
from trooper.memory.sitrep.entity_ranker import MAX_ENTITIES, MODEL, choose
from trooper.memory.sitrep.linear import LinearModel

MODEL_PATH = Path(__file__).resolve().parents[2] / "trooper" / "memory" / "sitrep" / "models" / f"{MODEL}.json"
#: Probability cut-offs tried: a name is listed when the model gives it more than this.
CUT_OFFS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
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


def score(sessions: Sequence[tuple[LabelledSession, Candidates]], model: LinearModel) -> Tally:
    tally = Tally()
    for session, found in sessions:
        listed, labels = choose(found, model), session.expected["entities"]
        tally.add(one_to_one(labels, listed, entity_match, 1.0), len(labels), len(listed))
    return tally


def train(sessions: Sequence[tuple[LabelledSession, Candidates]]) -> LinearModel:
    return fit([example for session, found in sessions for example in examples(session, found)])


def cross_validate(sessions: Sequence[tuple[LabelledSession, Candidates]], by_writer: bool = False) -> dict[float, Tally]:
    """Micro-averaged held-out tallies, per cut-off, over ``FOLDS`` folds of the sessions (or one
    fold per writer)."""
    tallies = {probability: Tally() for probability in CUT_OFFS}
    splits = writer_folds(sessions, lambda pair: pair[0].writer) if by_writer else folds(sessions, FOLDS)
    for fitting, held_out in splits:
        model = train(fitting)
        for probability, tally in tallies.items():
            fold = score(held_out, cut(model, probability))
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
    print(f"{FOLDS}-fold cross-validated entities (held-out sessions, at most {MAX_ENTITIES} names):")
    print("cut-off  precision  recall     F1")
    for probability, tally in tallies.items():
        print(f"{probability:7.2f}  {tally.precision:9.3f}  {tally.recall:6.3f}  {tally.f1:5.3f}")
    best = max(CUT_OFFS, key=lambda probability: (tallies[probability].f1, -probability))
    model = cut(train(sessions), best)
    fitted = score(sessions, model)
    print(f"chosen cut-off {best}: cross-validated F1 {tallies[best].f1:.3f}; fitted on all of dev, dev F1 {fitted.f1:.3f}")
    print(f"each writer held out in turn (a labeller not seen): F1 {cross_validate(sessions, by_writer=True)[best].f1:.3f}")
    heaviest = sorted(model.weights.items(), key=lambda pair: (-abs(pair[1]), pair[0]))[:15]
    print("heaviest features: " + ", ".join(f"{name} {weight:+.2f}" for name, weight in heaviest))
    text = model.to_json()
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
