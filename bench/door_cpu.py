"""Front doors' event-loop CPU: each request's thread CPU inside Trooper, Responses against Chat Completions.

Run: .venv/bin/python bench/door_cpu.py [--quick] [--rounds N] [--baseline DIR] [--stream] [--tools N]

``overhead.py`` reads a request's CPU from /proc around the whole exchange, and its sides follow
each other in a fixed rotation: a door that follows the other of the same Trooper finds its loop
warm, and on a loaded machine the run-to-run spread (0.1–0.3 ms) hides a difference of a few tens
of µs. Here each Trooper is served through ``bench/door_cpu_probe.py``, which records the main
thread's CPU from the moment a front door's request is prepared to its finish; every round sends
the same turn through each door of each Trooper (this checkout's, and ``--baseline DIR``'s) in a
new random order, so that no side follows another more often. Each Trooper's figure is the
difference between its two doors in each round (Responses − Chat Completions), median and mean:
two processes differ by tens of µs at the same door, running the same code, so only the doors of
one process are compared with each other.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import tempfile
import time
from pathlib import Path

from common import (
    ROOT,
    Process,
    conversations,
    http_client,
    load_conditions,
    markdown_table,
    per_round,
    start_fake,
    start_trooper,
    temp_db,
    timed_post,
    timed_stream,
    trooper_env,
)
from overhead import DOORS, TOOL_SHAPES, agent_tools, door_headers, own_texts

WARMUP = 40
MEASURED_DOORS = ("chat", "responses")
#: The door handlers' class names in the CPU record, by door.
HANDLERS = {"chat": "ChatCompletionsHandler", "responses": "ResponsesHandler"}


def paired(record: dict[str, list[int]]) -> tuple[float, float, float, float]:
    """(Chat Completions p50, Responses p50, median and mean of each round's Responses − Chat
    Completions), in µs."""
    chat, responses = record[HANDLERS["chat"]], record[HANDLERS["responses"]]
    differences = [r - c for c, r in zip(chat, responses)]
    return statistics.median(chat) / 1000, statistics.median(responses) / 1000, statistics.median(differences) / 1000, statistics.mean(differences) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1500, help="rounds of one request per door and Trooper")
    parser.add_argument("--quick", action="store_true", help="300 rounds")
    parser.add_argument("--baseline", type=Path, help="a checkout whose Trooper is measured alongside, in the same rounds")
    parser.add_argument("--stream", action="store_true", help="streamed turns")
    parser.add_argument("--tools", type=int, default=0, help="function tools every turn offers, as agents' turns do")
    parser.add_argument("--seed", type=int, default=1, help="the rounds' random orders")
    args = parser.parse_args()
    rounds = 300 if args.quick else args.rounds

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    checkouts = {"Trooper": ROOT} | ({"baseline": args.baseline} if args.baseline is not None else {})
    records = {name: Path(tempfile.mkstemp(prefix="trooper-bench-cpu-", suffix=".json")[1]) for name in checkouts}
    troopers: dict[str, Process] = {}
    try:
        for name, source in checkouts.items():
            env = trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream)
            troopers[name] = start_trooper(env, source, serve=[str(ROOT / "bench" / "door_cpu_probe.py"), str(records[name])])
        print(f"load before: {load_conditions()}")
        sides = [(name, door) for name in troopers for door in MEASURED_DOORS]
        order = random.Random(args.seed)
        with http_client() as client:
            body = per_round(conversations("door-cpu", 4), args.stream)

            def send(name: str, door: str, i: int) -> None:
                path, shaped = DOORS[door]
                turn = own_texts(door, body(i))
                tools = [TOOL_SHAPES[door](t) for t in agent_tools(args.tools)]
                payload = {**shaped(turn), "tools": tools} if tools else shaped(turn)
                url = troopers[name].url + path
                headers = door_headers(f"{name}-{door}", turn)
                if args.stream:
                    timed_stream(client, url, payload, headers)
                else:
                    timed_post(client, url, payload, headers)

            for i in range(WARMUP + rounds):
                if i == WARMUP:
                    for process in troopers.values():
                        os.kill(process.pid, signal.SIGUSR1)
                for name, door in order.sample(sides, len(sides)):
                    send(name, door, i)
            for process in troopers.values():
                os.kill(process.pid, signal.SIGUSR2)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(path.stat().st_size for path in records.values()):
                time.sleep(0.05)
    finally:
        for process in troopers.values():
            process.stop()
        fake.stop()
    print(f"load after:  {load_conditions()}")
    kind = "streamed" if args.stream else "non-streaming"
    print(f"\nEvent-loop CPU per request inside Trooper, {rounds} rounds ({kind}, {args.tools} tools), µs")
    rows = []
    for name, record in records.items():
        chat, responses, median, mean = paired(json.loads(record.read_text()))
        rows.append([name, f"{chat:.0f}", f"{responses:.0f}", f"{median:+.0f}", f"{mean:+.0f}"])
    print(markdown_table(("Trooper", "Chat Completions p50", "Responses p50", "Responses − Chat, median of rounds", "mean of rounds"), rows))


if __name__ == "__main__":
    main()
