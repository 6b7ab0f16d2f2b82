"""How far two people agree: ``python -m tests.memory.agreement``.

A second annotator labelled 40 dev sessions (five from each dev folder) by tests/data/LABELLING.md
alone, seeing the conversations with their labels removed and nothing else of the repository
(``tests/data/agreement/dev-second.jsonl``). Scoring one person's labels against the other's with
the corpus's own strict scorer tells what a figure on this corpus can mean: a field where two careful
people agree at 0.5 cannot be judged against the same labels at 0.8. Printed side by side: the second
annotator against the first, and the extractor against each of them, on the same sessions.

Entities and items are scored one-to-one, so their F1 is the same whichever person is taken as the
reference; the intent is not (one person's keywords in the other's sentence), so both directions
are printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.memory.corpus import LabelledSession, Scores, load_split

SECOND_LABELS = Path(__file__).resolve().parents[1] / "data" / "agreement" / "dev-second.jsonl"
FIELDS = ("entities", "open_loops", "completed_steps", "intent", "open_loops_lenient", "completed_steps_lenient")


def second_labels() -> dict[str, dict[str, Any]]:
    """The second annotator's ``expected`` block of each session it labelled, by session id."""
    rows = (json.loads(line) for line in SECOND_LABELS.read_text(encoding="utf-8").splitlines() if line.strip())
    return {row["id"]: row["expected"] for row in rows}


def labelled_twice() -> list[tuple[LabelledSession, dict[str, Any]]]:
    """Each dev session the second annotator labelled, with that annotator's labels."""
    second = second_labels()
    return [(session, second[session.id]) for session in load_split("dev") if session.id in second]


def columns() -> dict[str, Scores]:
    from trooper.memory.sitrep import extract_sitrep

    pairs = labelled_twice()
    extracted = {session.id: extract_sitrep(session.messages).to_dict() for session, _ in pairs}
    table = {name: Scores() for name in ("second vs first", "first vs second", "extractor vs first", "extractor vs second")}
    for session, second in pairs:
        table["second vs first"].add(session.expected, second)
        table["first vs second"].add(second, session.expected)
        table["extractor vs first"].add(session.expected, extracted[session.id])
        table["extractor vs second"].add(second, extracted[session.id])
    return table


def main() -> None:
    table = columns()
    sessions = next(iter(table.values())).sessions
    print(f"{sessions} dev sessions labelled by two people (A: the corpus, B: tests/data/agreement)")
    print(f"{'field':<26}" + "".join(f"{name:>22}" for name in table))
    for field in FIELDS:
        print(f"{field:<26}" + "".join(f"{scores.figures()[field]:>22.3f}" for scores in table.values()))


if __name__ == "__main__":
    main()
