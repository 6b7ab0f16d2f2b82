"""Check that a change to the SITREP extractor changes no output: dump here, diff against a baseline.

Run: ``.venv/bin/python bench/sitrep_outputs.py --baseline DIR`` where ``DIR`` is another
checkout (``git worktree add DIR main``). Both trees dump, in fresh processes, the SITREP
(``to_dict`` and the rendered block, whole and under a 60-token budget) of every dev-split session,
its SITREP after every turn folded into one builder (the server's incremental path), and those of
the benchmark's synthetic sessions (cycled and all-new text, 250 to 2,000 turns); the run prints
how many cases differ and the first few. Only the dev split is read: the test split is blind.

``--dump FILE`` writes this tree's outputs only (what each side runs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dump(tree: Path, path: Path) -> None:
    """Every case's outputs, by case name, as JSON, computed by ``tree``'s extractor."""
    sys.path.insert(0, str(tree / "bench"))
    # the tree's own benchmark sessions; importing it puts the tree first on the path
    from memory import corpus_stream, distinct, session_of_turns

    import trooper
    from tests.memory.corpus import load_split
    from trooper.memory.sitrep import SitrepBuilder, clear_cache, extract_sitrep, render_sitrep

    if not Path(trooper.__file__).resolve().is_relative_to(tree):
        sys.exit(f"{tree}: imported another tree's trooper ({trooper.__file__})")

    def outputs(sitrep: object) -> str:
        """As JSON text: the order of a dict's keys is output too."""
        return json.dumps([sitrep.to_dict(), render_sitrep(sitrep), render_sitrep(sitrep, max_tokens=60)], ensure_ascii=False)  # type: ignore[attr-defined, arg-type]

    cases: dict[str, str] = {}
    clear_cache()
    for session in load_split("dev"):
        cases[f"dev/{session.id}"] = outputs(extract_sitrep(session.messages))
        builder = SitrepBuilder()
        for turn, message in enumerate(session.messages):
            builder.add(message)
            cases[f"dev/{session.id}/step{turn}"] = outputs(builder.build())
    stream = corpus_stream()
    for turns in (250, 1_000, 2_000):
        session = session_of_turns(stream, turns)
        cases[f"cycled/{turns}"] = outputs(extract_sitrep(session))
        cases[f"distinct/{turns}"] = outputs(extract_sitrep(distinct(session)))
    path.write_text(json.dumps(cases), encoding="utf-8")


def dump_in(tree: Path, path: Path) -> dict[str, object]:
    """Run ``dump`` in a fresh process with ``tree``'s ``trooper``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, __file__, "--tree", str(tree), "--dump", str(path)], cwd=tree, env=env, check=True)
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--baseline", type=Path, help="another checkout to compare this tree's outputs with")
    group.add_argument("--dump", type=Path, help="write the outputs of --tree (this tree by default) to FILE")
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.tree.resolve(), args.dump)
        return
    with tempfile.TemporaryDirectory() as scratch:
        ours = dump_in(ROOT, Path(scratch) / "ours.json")
        theirs = dump_in(args.baseline.resolve(), Path(scratch) / "theirs.json")
    differing = sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))
    print(f"{len(ours)} cases here, {len(theirs)} in {args.baseline}: {len(differing)} differ")
    for name in differing[:10]:
        print(f"\n{name}\n  here:     {str(ours.get(name))[:600]}\n  baseline: {str(theirs.get(name))[:600]}")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
