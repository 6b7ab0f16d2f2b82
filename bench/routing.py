"""Benchmark of the router's decision pieces: classifier, failure policy, breaker, headers.

Run: .venv/bin/python bench/routing.py
Prints CPU microseconds per call for each case: the best of several rounds, timed with the
process CPU clock so other processes on shared cores do not count against the figure. The classifier's budget is 50 µs per turn.
"""

from __future__ import annotations

import sys
import time
import timeit
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trooper.config import Settings  # noqa: E402
from trooper.conversation import Message, Request, TextBlock  # noqa: E402
from trooper.errors import UpstreamError  # noqa: E402
from trooper.routing.breaker import CircuitBreaker  # noqa: E402
from trooper.routing.classifier import classify  # noqa: E402
from trooper.routing.headers import Attempt, Trail, trooper_headers  # noqa: E402
from trooper.routing.policy import classify_failure  # noqa: E402

CLASSIFIER_BUDGET_US = 50.0

TURNS = {
    "simple (how many days in a week)": "how many days in a week",
    "risk word (explain why goroutines...)": "explain why goroutines are better than threads",
    "not simple, 20 words": "write a short poem about the quiet of autumn evenings in the old town by the river and its bridges",
    "code (def ...)": "what does def add(a, b): return a + b do",
    "greeting": "thanks!",
    "long paste (10 kB)": "lorem ipsum dolor sit amet " * 400,
}


def request(text: str) -> Request:
    history = [Message("user", [TextBlock("hi")]), Message("assistant", [TextBlock("Hello! How can I help?")])]
    return Request(model="claude-haiku-4-5", messages=[*history, Message("user", [TextBlock(text)])])


def per_call_us(fn: Callable[[], object], number: int = 20_000, repeat: int = 7) -> float:
    timer = timeit.Timer(fn, timer=time.process_time)
    return min(timer.repeat(number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    worst = 0.0
    print("classifier (µs per turn)")
    for name, text in TURNS.items():
        req = request(text)
        us = per_call_us(lambda req=req: classify(req, local_supports_tools=False))
        worst = max(worst, us)
        print(f"  {name:40s} {us:7.2f}  -> {classify(req, local_supports_tools=False).reason}")
    verdict = "within" if worst <= CLASSIFIER_BUDGET_US else "OVER"
    print(f"  worst {worst:.2f} µs: {verdict} the {CLASSIFIER_BUDGET_US:.0f} µs budget")

    settings = Settings()
    errors = {
        "429 with retry-after": UpstreamError("claude", "http", "rate limited", status=429, headers={"retry-after": "3"}),
        "400 context length": UpstreamError("claude", "http", "bad", status=400, body='{"error":{"message":"prompt is too long"}}'),
        "connect": UpstreamError("claude", "connect", "refused"),
    }
    print("failure policy (µs per failure)")
    for name, error in errors.items():
        print(f"  {name:40s} {per_call_us(lambda error=error: classify_failure(error, settings)):7.2f}")

    breaker = CircuitBreaker(failure_threshold=3, cooldown=30.0)
    print("breaker (µs per allow + record_success)")
    print(f"  {'closed':40s} {per_call_us(lambda: (breaker.allow(), breaker.record_success())):7.2f}")

    trail = Trail("cloud", "code", attempts=[Attempt("claude", "failed", 529, "overloaded"), Attempt("ollama", "ok")], compacted=True, tokens_saved=42)
    print("headers (µs per trooper_headers)")
    print(f"  {'two attempts, compacted':40s} {per_call_us(lambda: trooper_headers(trail)):7.2f}")


if __name__ == "__main__":
    main()
