"""Score the SITREP extractor on the labelled corpus: ``python -m tests.memory.evaluate``.

    --split dev|test|both   which sessions (default: both, side by side)
    --details               per-session misses (dev only: the test split is never read item by item)
    --trooper DIR           score another checkout's extractor (the "before" column in docs/sitrep.md)

Prints strict F1 (one-to-one, Jaccard ≥ 0.4 for loops and steps, exact names for entities) with the
lenient coverage figure beside it, and the intent keyword rate.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _columns(splits: list[str]) -> dict[str, Any]:
    from tests.memory.corpus import load_split, score
    from trooper.memory.sitrep import extract_sitrep

    return {split: score(load_split(split), lambda s: extract_sitrep(s.messages).to_dict()) for split in splits}


def _details() -> None:
    from tests.memory.corpus import JACCARD, entity_match, intent_hit, jaccard, load_split, one_to_one
    from trooper.memory.sitrep import extract_sitrep

    for session in load_split("dev"):
        got = extract_sitrep(session.messages).to_dict()
        want = session.expected
        lines = []
        if not intent_hit(want["intent_keywords"], got["intent"]):
            lines.append(f"  intent: want {want['intent']!r} {want['intent_keywords']} got {got['intent']!r}")
        if one_to_one(want["entities"], got["entities"], entity_match, 1.0) < max(len(want["entities"]), len(got["entities"])):
            lines.append(f"  entities: want {want['entities']}\n            got  {got['entities']}")
        for name in ("open_loops", "completed_steps"):
            hits = one_to_one(want[name], got[name], jaccard, JACCARD)
            if hits < max(len(want[name]), len(got[name])):
                lines.append(f"  {name}: want {want[name]}\n            got  {got[name]}")
        if lines:
            print(f"{session.id} ({session.kind})")
            print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--trooper", help="a checkout whose trooper package is scored instead")
    args = parser.parse_args(argv)
    if args.trooper:
        sys.path.insert(0, args.trooper)
    if args.details:
        if args.split != "dev":
            parser.error("--details reads sessions item by item: dev split only")
        _details()
        return
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    columns = _columns(splits)
    print(f"{'field':<26}" + "".join(f"{s + ' (' + str(c.sessions) + ')':>14}" for s, c in columns.items()))
    names = next(iter(columns.values())).figures()
    for name in names:
        print(f"{name:<26}" + "".join(f"{c.figures()[name]:>14.3f}" for c in columns.values()))
    for name in ("entities", "open_loops", "completed_steps"):
        cells = "".join(f"{getattr(c, name).precision:>7.2f}{getattr(c, name).recall:>7.2f}" for c in columns.values())
        print(f"{name + ' P / R':<26}" + cells)


if __name__ == "__main__":
    main()
