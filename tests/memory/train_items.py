"""Train the SITREP's step and loop selectors on the dev split: ``python -m tests.memory.train_items``.

    --check    fit and report, but write no model

Reads the dev split only. Every candidate the fold proposes (``SitrepBuilder(collect=True)`` with
a selector that keeps everything), as the SITREP lists it (``items.shown``), is labelled positive when it matches one of the session's
labels of its field by the scorer's own rule (``corpus.jaccard`` ≥ ``corpus.JACCARD``). Reports:

- the candidate ceiling: the recall a perfect selector would reach among the candidates;
- 5-fold cross-validated figures: fit on 4/5 of the sessions, extract the held-out 1/5 with the
  fitted models and score it with the real scorer (strict and lenient), for each threshold; the
  threshold with the best pooled F1 is kept per field;
- the figures on dev of the models fitted on all of dev, which it writes (bias shifted by the
  chosen threshold) to ``trooper/memory/sitrep/models/<field>.json``. Same data, same bytes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tests.memory.corpus import JACCARD, LabelledSession, Scores, jaccard, load_split, one_to_one, score
from tests.memory.linear_fit import fit, folds, writer_folds
from trooper.memory.sitrep import SitrepBuilder, extract_sitrep
from trooper.memory.sitrep.items import FIELDS, KEEP_ALL, Field, Selector, final_features, shown
from trooper.memory.sitrep.linear import LinearModel

MODELS_DIR = Path(__file__).resolve().parents[2] / "trooper" / "memory" / "sitrep" / "models"
#: Log-odds a candidate must exceed to be listed, tried in cross-validation.
THRESHOLDS = (-3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5)
FIT_OPTIONS = {"l2": 1e-2, "epochs": 30, "min_count": 3}

Example = tuple[tuple[str, ...], bool]


def candidates(session: LabelledSession) -> dict[Field, list[tuple[str, tuple[str, ...], bool]]]:
    """Every candidate item of each field the fold proposes for a session, with its features and
    whether the selector chooses it (text candidates; what tool calls say is listed by rule)."""
    builder = SitrepBuilder(KEEP_ALL, collect=True)
    for message in session.messages:
        builder.add(message)
    builder.build()
    found: dict[Field, list[tuple[str, tuple[str, ...], bool]]] = {field: [] for field in FIELDS}
    for (field, item), candidate in (builder.candidates or {}).items():
        recent = builder.recent_text_turns[::-1]
        rank = recent.index(candidate.turn) if candidate.text and candidate.turn in recent else -1
        features = candidate.features + final_features(candidate.source, candidate.role, rank) if rank >= 0 else candidate.features
        found[field].append((shown(item), features, candidate.text))  # scored as the SITREP lists it
    return found


def examples(sessions: Sequence[LabelledSession], field: Field) -> list[Example]:
    """Each candidate of ``field``: its features, and whether it matches one of the labels."""
    rows = []
    for session in sessions:
        labels = session.expected[field]
        for item, features, selected in candidates(session)[field]:
            if not selected:
                continue  # listed by rule
            rows.append((features, any(jaccard(label, item) >= JACCARD for label in labels)))
    return rows


def ceiling(sessions: Sequence[LabelledSession], field: Field) -> float:
    """The recall of a perfect selector: labels matched one-to-one among all the candidates."""
    matched = total = 0
    for session in sessions:
        labels = session.expected[field]
        items = [item for item, _, _ in candidates(session)[field]]
        matched += one_to_one(labels, items, jaccard, JACCARD)
        total += len(labels)
    return matched / total if total else 0.0


def shifted(model: LinearModel, threshold: float) -> LinearModel:
    """The model whose positive scores are the ones above ``threshold``."""
    return LinearModel(model.weights, model.bias - threshold)


def fitted(sessions: Sequence[LabelledSession]) -> dict[Field, LinearModel]:
    return {field: fit(examples(sessions, field), **FIT_OPTIONS) for field in FIELDS}  # type: ignore[arg-type]


def _scores(sessions: Sequence[LabelledSession], models: dict[Field, LinearModel]) -> Scores:
    selector = Selector(models)
    return score(sessions, lambda session: extract_sitrep(session.messages, selector).to_dict())


def cross_validate(sessions: Sequence[LabelledSession], by_writer: bool = False) -> dict[float, Scores]:
    """Pooled held-out scores of 5-fold cross-validation (or one fold per writer), per threshold."""
    pooled = {threshold: Scores() for threshold in THRESHOLDS}
    for train, held_out in writer_folds(sessions, lambda session: session.writer) if by_writer else folds(list(sessions)):
        models = fitted(train)
        for threshold in THRESHOLDS:
            scores = _scores(held_out, {field: shifted(model, threshold) for field, model in models.items()})
            total = pooled[threshold]
            for name in ("open_loops", "completed_steps", "open_loops_lenient", "completed_steps_lenient"):
                mine, theirs = getattr(total, name), getattr(scores, name)
                mine.add(theirs.matched, theirs.expected, theirs.extracted)
    return pooled


def _line(name: str, scores: Scores) -> str:
    figures = scores.figures()
    return (
        f"{name:<28} loops {figures['open_loops']:.3f} (lenient {figures['open_loops_lenient']:.3f})"
        f"   steps {figures['completed_steps']:.3f} (lenient {figures['completed_steps_lenient']:.3f})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only: write no model")
    args = parser.parse_args(argv)
    sessions = load_split("dev")
    for field in FIELDS:
        print(f"candidate ceiling, {field}: recall {ceiling(sessions, field):.3f}")
    pooled = cross_validate(sessions)
    for threshold, scores in pooled.items():
        print(_line(f"5-fold CV, threshold {threshold:+.2f}", scores))
    best = {field: max(THRESHOLDS, key=lambda t: (getattr(pooled[t], field).f1, -abs(t))) for field in FIELDS}
    print("chosen thresholds:", ", ".join(f"{field} {best[field]:+.2f}" for field in FIELDS))
    by_writer = cross_validate(sessions, by_writer=True)
    print("each writer held out:", ", ".join(f"{field} {getattr(by_writer[best[field]], field).f1:.3f}" for field in FIELDS))
    models = {field: shifted(model, best[field]) for field, model in fitted(sessions).items()}
    print(_line("fitted on all of dev, dev", _scores(sessions, models)))
    if not args.check:
        MODELS_DIR.mkdir(exist_ok=True)
        for field, model in models.items():
            (MODELS_DIR / f"{field}.json").write_text(model.to_json(), encoding="utf-8")
        print(f"wrote {', '.join(f'{field}.json' for field in FIELDS)} to {MODELS_DIR}")


if __name__ == "__main__":
    main()
