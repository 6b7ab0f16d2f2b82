"""Benchmark of privacy detection and of restoring placeholders in a stream.

Run: .venv/bin/python bench/privacy.py [--quick]
Prints the median CPU milliseconds per call (process CPU clock, so other processes on shared
cores do not count) for: a typical 2 kB user turn, the same with a key and an email in it, 100 kB
tool results (a source file, an application log), and the restoring of one streamed text delta.
Budgets (issue #21): 0.2 ms for a 2 kB turn, 10 ms for a 100 kB tool result, 0.1 ms per chunk.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trooper.conversation import Message, Request, TextBlock, TextDelta  # noqa: E402
from trooper.privacy import CustomRules, detect  # noqa: E402
from trooper.privacy.placeholders import Placeholders, Redactor  # noqa: E402

TURN_BUDGET_MS, TOOL_RESULT_BUDGET_MS, CHUNK_BUDGET_MS = 0.2, 10.0, 0.1

PROSE = (
    "I'm refactoring the config loader in src/settings.py so that it reads DATABASE_URL and the retry count "
    "from the environment. Here is the traceback I get when the value is missing:\n"
    'File "src/settings.py", line 88, in load\n    value = int(raw)\n'
    "ValueError: invalid literal for int() with base 10: 'abc'\n"
    "Can you suggest a cleaner way that validates everything at start-up and reports all errors at once?\n"
)


def typical_turn() -> str:
    return (PROSE * 8)[:2048]


def turn_with_secrets() -> str:
    return typical_turn()[:1900] + "\nexport AWS_ACCESS_KEY_ID=AKIAQ3EGRTW5J2KD7XPL # owner jane.doe@acme.io\n"


def source_file() -> str:
    lines, number = [], 0
    while sum(map(len, lines)) < 100_000:
        number += 1
        lines.append(f"    def handler_{number}(self, request: Request, retries: int = 3) -> Response:  # line {number}\n")
        lines.append(f"        return self.client.get(f'/api/v1/items/{{request.id}}', timeout={number % 30 + 1})\n")
    return "".join(lines)[:100_000]


def application_log() -> str:
    rng = random.Random(1)
    lines = []
    while sum(map(len, lines)) < 100_000:
        lines.append(
            f"2026-05-01 12:{rng.randint(10, 59)}:{rng.randint(10, 59)},{rng.randint(100, 999)} INFO worker-{rng.randint(1, 9)} "
            f"request id={rng.getrandbits(64):x} path=/api/v1/items/{rng.randint(1, 99999)} took {rng.random() * 100:.2f}ms status=200\n"
        )
    return "".join(lines)[:100_000]


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def median_ms_batched(fn: Callable[[], object], runs: int, batch: int = 100) -> float:
    """For calls shorter than the CPU clock's resolution: the median of batches, per call."""
    return median_ms(lambda: [fn() for _ in range(batch)], runs) / batch


def main() -> None:
    quick = "--quick" in sys.argv
    runs = 30 if quick else 200
    turn, private_turn, source, log = typical_turn(), turn_with_secrets(), source_file(), application_log()
    rows = [
        ("2 kB turn, nothing private", median_ms_batched(lambda: detect(turn), runs), TURN_BUDGET_MS),
        ("2 kB turn with a key and an email", median_ms_batched(lambda: detect(private_turn), runs), TURN_BUDGET_MS),
        ("100 kB tool result: source file", median_ms(lambda: detect(source), max(runs // 10, 5)), TOOL_RESULT_BUDGET_MS),
        ("100 kB tool result: application log", median_ms(lambda: detect(log), max(runs // 10, 5)), TOOL_RESULT_BUDGET_MS),
    ]
    redactor = Redactor(Placeholders(), CustomRules())
    redactor.redact(Request("m", [Message("user", [TextBlock(turn_with_secrets())])]))
    restorer = redactor.stream_restorer()
    chunk = TextDelta(0, "the key [SECRET_1] belongs to [EMAIL_2], ")
    rows.append(("restore one streamed delta", median_ms_batched(lambda: list(restorer.restore(chunk)), runs), CHUNK_BUDGET_MS))
    print(f"{'case':40s} {'median ms':>10s} {'budget':>8s}")
    for name, ms, budget in rows:
        print(f"{name:40s} {ms:10.3f} {budget:8.1f}  {'ok' if ms <= budget else 'OVER'}")


if __name__ == "__main__":
    main()
