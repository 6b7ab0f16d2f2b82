"""Long histories: Trooper's CPU per request when an agent resends a history that grows every turn.

Run: .venv/bin/python bench/long_history.py [--quick] [--conversations N] [--turns N] [--baseline DIR]

The other proxy benchmarks send 4-turn conversations of one-line messages, where nothing that
grows with the history shows. Here one client sends conversations whose every turn adds a user
message of ~2.8 kB (a traceback-like tool output) and resends the whole history (24 turns: up to
~67 kB), with the fake upstream's own answers in between, as an agent does. Each body goes to
every Trooper measured (``--baseline DIR``: another checkout's too), the order alternating; after
each request the client waits 60 ms, so the session's debounced SITREP and the commit land inside
that request's window. Reported per side: the CPU time (all threads, the scheduler's count) each
request cost Trooper.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import (
    ANTHROPIC_HEADERS,
    Process,
    http_client,
    load_conditions,
    markdown_table,
    start_fake,
    start_trooper,
    temp_db,
    trooper_env,
)

from tests.fakes import DEFAULT_TEXT  # common.py put the repository on the path

#: What each turn adds: a tool output of ~2.8 kB.
TOOL_OUTPUT = "".join(
    f'  File "src/module_{i}.py", line {i * 7}, in handler_{i}\n    result = compute(value_{i}, cache=True)\n'
    for i in range(30)
)
#: Lets the debounced SITREP (50 ms after a turn) run within the request's measured window.
SETTLE_SECONDS = 0.06


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=6)
    parser.add_argument("--turns", type=int, default=24, help="turns per conversation")
    parser.add_argument("--quick", action="store_true", help="one conversation of 8 turns: a smoke run")
    parser.add_argument("--baseline", type=Path, help="a checkout whose Trooper is measured alongside, interleaved")
    args = parser.parse_args()
    conversations, turns = (1, 8) if args.quick else (args.conversations, args.turns)

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    env = {"CLAUDE_API_KEY": "sk-ant-bench", "CLAUDE_URL": upstream}
    troopers: dict[str, Process] = {"Trooper": start_trooper(trooper_env(temp_db(), **env))}
    if args.baseline is not None:
        troopers["baseline"] = start_trooper(trooper_env(temp_db(), **env), args.baseline)
    print(f"load before: {load_conditions()}")
    cpu_ms: dict[str, list[float]] = {name: [] for name in troopers}
    client = http_client()
    try:
        for number in range(conversations):
            messages: list[dict[str, str]] = []
            for turn in range(turns):
                messages.append({"role": "user", "content": f"conversation {number} turn {turn}: the test failed again\n" + TOOL_OUTPUT})
                body = {"model": "claude-haiku-4-5", "max_tokens": 256, "messages": list(messages)}
                names = list(troopers) if (number + turn) % 2 == 0 else list(troopers)[::-1]
                for name in names:
                    process = troopers[name]
                    before = sum(process.cpu_ns())
                    headers = {**ANTHROPIC_HEADERS, "X-Session-ID": f"long-{name}-{number}"}
                    client.post(process.url + "/v1/messages", json=body, headers=headers).raise_for_status()
                    time.sleep(SETTLE_SECONDS)
                    cpu_ms[name].append((sum(process.cpu_ns()) - before) / 1e6)
                messages.append({"role": "assistant", "content": DEFAULT_TEXT})
    finally:
        client.close()
        for process in troopers.values():
            process.stop()
        fake.stop()
    print(f"load after:  {load_conditions()}")
    size = sum(len(m["content"]) for m in messages)
    print(f"\n{conversations} conversations of {turns} turns, one client (the last history: {size / 1000:.0f} kB)")
    rows = [[name, len(v), f"{statistics.median(v):.2f}", f"{statistics.mean(v):.2f}"] for name, v in cpu_ms.items()]
    print(markdown_table(("side", "requests", "CPU ms / request, median", "mean"), rows))


if __name__ == "__main__":
    main()
