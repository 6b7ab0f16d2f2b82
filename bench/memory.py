"""Session memory benchmark: SITREP extraction, its incremental path, compaction, the classifier.

Run: ``.venv/bin/python bench/memory.py``; ``--baseline DIR`` (another checkout, ``git worktree
add DIR main``) instead times the SITREP targets of both trees in alternated fresh processes. Times are process CPU time (``time.process_time``,
best of several rounds), so other processes on shared cores do not count. Sessions are built by
cycling the dev split of the labelled corpus in ``tests/data/sessions`` (its long turns included), so turn sizes
are realistic rather than uniform. Every round starts with the SITREP's text cache cleared; the
"distinct" column also makes every turn's text unique, so the cache never hits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

#: The checkout whose ``trooper`` is measured: this one, or a baseline's (``--baseline``).
_TREE_VARIABLE = "TROOPER_BENCH_TREE"
ROOT = Path(os.environ.get(_TREE_VARIABLE) or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from tests.memory.corpus import load_corpus  # noqa: E402
from tests.routing.corpus import load_turns, request_of  # noqa: E402
from trooper.conversation import Message, TextBlock  # noqa: E402
from trooper.memory import compact, count_request_tokens, count_tokens, extract_sitrep  # noqa: E402
from trooper.memory.sitrep.builder import SitrepBuilder, clear_cache  # noqa: E402
from trooper.routing.classifier import classify  # noqa: E402

SITREP_TURNS = (125, 250, 500, 1_000, 2_000)
COMPACT_TOKENS = (25_000, 50_000, 100_000, 200_000)
COMPACT_BUDGET = 6_000


def best_ms(action: Callable[[], object], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        clear_cache()  # a cold start: only the texts the session itself repeats are read once
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best * 1000


def corpus_stream() -> list[Message]:
    """The corpus sessions back to back, patched to alternate roles where two sessions meet."""
    messages: list[Message] = []
    for session in load_corpus(("dev",)):
        for message in session.messages:
            if messages and messages[-1].role == message.role:
                filler = "assistant" if message.role == "user" else "user"
                messages.append(Message(filler, [TextBlock("ok")]))  # type: ignore[arg-type]
            messages.append(message)
    return messages


def session_of_turns(stream: list[Message], turns: int) -> list[Message]:
    repeated = stream * (turns // len(stream) + 1)
    session = repeated[:turns]
    return session if session[-1].role == "user" else session[:-1]


def distinct(session: list[Message]) -> list[Message]:
    """The session with a line added to every text (its turn number spelt in letters: a plain
    word, no entity), so that no two turns share a text."""

    def marked(text: str, turn: int) -> str:
        return text + "\nq" + "".join(chr(ord("a") + int(digit)) for digit in str(turn))

    return [
        Message(m.role, [TextBlock(marked(b.text, i)) if isinstance(b, TextBlock) and b.text else b for b in m.content])
        for i, m in enumerate(session)
    ]


def session_of_tokens(stream: list[Message], tokens: int) -> list[Message]:
    session: list[Message] = []
    while count_request_tokens(None, session) < tokens:
        session += stream
    while session[-1].role != "user" or count_request_tokens(None, session) > tokens:
        session.pop()
    return session


def incremental_us(session: list[Message]) -> tuple[float, float]:
    """Median and 99th-percentile wall time of ``SitrepBuilder.add`` + ``build`` per new turn (µs),
    the server's path: each turn folded into the session's builder as it arrives."""
    clear_cache()
    builder = SitrepBuilder()
    costs = []
    for message in session:
        start = time.perf_counter_ns()
        builder.add(message)
        builder.build()
        costs.append(time.perf_counter_ns() - start)
    costs.sort()
    return costs[len(costs) // 2] / 1000, costs[int(len(costs) * 0.99)] / 1000


def classifier_us(rounds: int = 5) -> tuple[float, float]:
    """Mean µs per turn over the routing corpus (best of rounds), and the slowest turn's µs."""
    requests = [request_of(turn) for split in ("dev", "test") for turn in load_turns(split)]
    mean = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for request in requests:
            classify(request, local_supports_tools=True)
        mean = min(mean, (time.perf_counter() - start) / len(requests) * 1e6)
    slowest = 0.0
    for request in requests:
        start = time.perf_counter()
        for _ in range(20):
            classify(request, local_supports_tools=True)
        slowest = max(slowest, (time.perf_counter() - start) / 20 * 1e6)
    return mean, slowest


def table(title: str, header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


SITREP_TARGET_TURNS = 1_000


def opening_us(rounds: int = 5) -> float:
    """CPU µs of a new session's first exchange (best of rounds, mean over the dev sessions): a
    fresh builder folds the first user turn and the answer to it, with a build after each, as the
    server does for every new session (the intent reads the opening turns sentence by sentence, where later turns cost it a look-up)."""
    openings = []
    for session in load_corpus(("dev",)):
        first = next((i for i, m in enumerate(session.messages) if m.role == "user"), None)
        if first is not None:
            openings.append(session.messages[first : first + 2])
    best = float("inf")
    for _ in range(rounds):
        clear_cache()
        start = time.process_time()
        for opening in openings:
            builder = SitrepBuilder()
            for message in opening:
                builder.add(message)
                builder.build()
        best = min(best, time.process_time() - start)
    return best / len(openings) * 1e6


def sitrep_figures() -> dict[str, float]:
    """The two SITREP targets' measures on the 1,000-turn all-new-text session: cold ms (best of 5)
    and the incremental median µs (median of three runs' medians); and a new session's first exchange (``opening_us``)."""
    session = distinct(session_of_turns(corpus_stream(), SITREP_TARGET_TURNS))
    cold = best_ms(lambda: extract_sitrep(session))
    incremental = statistics.median(incremental_us(session)[0] for _ in range(3))
    return {"cold_ms": cold, "incremental_us": incremental, "opening_us": opening_us()}


def compare(baseline: Path, runs: int) -> None:
    """``sitrep_figures`` of this tree and of ``baseline``, alternated in fresh processes."""
    figures: dict[str, list[dict[str, float]]] = {"baseline": [], "this tree": []}
    here = Path(__file__).resolve().parents[1]
    for run in range(runs):
        for side, tree in (("baseline", baseline), ("this tree", here))[:: 1 if run % 2 else -1]:
            env = {**os.environ, _TREE_VARIABLE: str(tree.resolve())}
            out = subprocess.run([sys.executable, __file__, "--sitrep-figures"], env=env, capture_output=True, text=True, check=True)
            figures[side].append(json.loads(out.stdout))
    print(f"SITREP, {SITREP_TARGET_TURNS:,} distinct turns, {runs} alternated runs (best / median of the runs)\n")
    print("| | baseline | this tree | this tree / baseline |\n|---|---|---|---|")
    for key, label in (("cold_ms", "cold extraction ms"), ("incremental_us", "incremental median us"), ("opening_us", "new session's first exchange us")):
        before = [f[key] for f in figures["baseline"]]
        after = [f[key] for f in figures["this tree"]]
        print(
            f"| {label} | {min(before):.1f} / {statistics.median(before):.1f} | {min(after):.1f} / {statistics.median(after):.1f} "
            f"| {min(after) / min(before):.2f} / {statistics.median(after) / statistics.median(before):.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the smallest size of each: a smoke run")
    parser.add_argument("--baseline", type=Path, help="another checkout: compare the SITREP figures with it, alternating runs")
    parser.add_argument("--runs", type=int, default=6, help="alternations for --baseline")
    parser.add_argument("--sitrep-figures", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sitrep_figures:
        print(json.dumps(sitrep_figures()))
        return
    if args.baseline:
        compare(args.baseline, args.runs)
        return
    quick = args.quick
    stream = corpus_stream()
    print(f"Python {platform.python_version()} on {platform.machine()}, corpus stream of {len(stream)} messages")

    rows = []
    for turns in SITREP_TURNS[:1] if quick else SITREP_TURNS:
        session = session_of_turns(stream, turns)
        full = best_ms(lambda session=session: extract_sitrep(session))
        unique = distinct(session)
        cold = best_ms(lambda unique=unique: extract_sitrep(unique))
        rows.append((len(session), f"{full:.1f}", f"{full * 1000 / len(session):.0f}", f"{cold:.1f}"))
    table(
        "SITREP extraction, cold (target: 1,000 distinct turns in <= 80 ms)",
        ("turns", "full ms", "us / turn", "distinct texts ms"),
        rows,
    )
    median, p99 = incremental_us(distinct(session_of_turns(stream, SITREP_TURNS[0] if quick else 1_000)))
    print(f"\nIncremental path (target: median <= 100 us per new turn): median {median:.0f} us, p99 {p99:.0f} us")
    print(f"A new session's first exchange (user turn and answer, a build after each): {opening_us(rounds=1 if quick else 5):.0f} us")
    mean, slowest = classifier_us(rounds=1 if quick else 5)
    print(f"Classifier (target: <= 50 us per turn): mean {mean:.1f} us over the routing corpus, slowest turn {slowest:.1f} us")

    rows = []
    for target in COMPACT_TOKENS[:1] if quick else COMPACT_TOKENS:
        session = session_of_tokens(stream, target)
        total = count_request_tokens(None, session)
        known = extract_sitrep(session)
        counting = best_ms(lambda session=session: [count_tokens(m.text()) for m in session])
        cold = best_ms(lambda session=session: compact(session, COMPACT_BUDGET), rounds=3)
        warm = best_ms(lambda session=session, known=known: compact(session, COMPACT_BUDGET, sitrep=lambda: known), rounds=3)
        result = compact(session, COMPACT_BUDGET)
        rows.append(
            (
                f"{total:,}",
                len(session),
                f"{counting:.1f}",
                f"{cold:.1f}",
                f"{warm:.1f}",
                result.kept_tokens,
                result.dropped_turns,
            )
        )
    table(
        f"Compaction to {COMPACT_BUDGET:,} tokens (target: 200k tokens in <= 30 ms)",
        ("tokens", "messages", "counting ms", "compact ms", "compact with kept SITREP ms", "kept tokens", "dropped"),
        rows,
    )

    text = "".join(m.text() for m in stream) * 4
    seconds = best_ms(lambda: count_tokens(text)) / 1000
    print(f"\ncount_tokens: {len(text.encode()) / seconds / 1e6:.0f} MB/s on {len(text.encode()) / 1e6:.1f} MB of corpus text")


if __name__ == "__main__":
    main()
