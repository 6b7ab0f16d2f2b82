"""The session store on the request path: a file-backed store against an in-memory one.

Run: .venv/bin/python bench/store_latency.py [--quick] [--requests N]

Two Trooper processes forward to one fake Anthropic: one with ``TROOPER_DB`` a SQLite file
(WAL, as users run it), one with ``TROOPER_DB=:memory:`` (same queue and writer thread, no
disk). Each conversation turn goes to both, the order alternating. The difference of their
latencies is what the disk costs a request; target ≤ 0.2 ms (writes leave the request path
through a queue). Also reported: each process's CPU per request on the event-loop thread and on
the other threads (the store's writer and readers), and first turns of a conversation (a new
session: the store is read on the request path) apart from follow-up turns.
"""

from __future__ import annotations

import argparse

from common import (
    LATENCY_HEADERS,
    Process,
    conversations,
    http_client,
    interleave,
    latency_row,
    load_conditions,
    markdown_table,
    ms,
    per_round,
    percentile,
    start_fake,
    start_trooper,
    temp_db,
    timed_post,
    trooper_env,
)

TARGET_GROWTH_MS = 0.2
TURNS = 4
WARMUP = 20


def cpu_per_request(before: tuple[float, float], after: tuple[float, float], count: int) -> str:
    loop, other = ((b - a) / count for a, b in zip(before, after))
    return f"{ms(loop)} loop + {ms(other)} store threads"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="rounds (one request to each store)")
    parser.add_argument("--quick", action="store_true", help="600 rounds: under a minute")
    args = parser.parse_args()
    count = 600 if args.quick else args.requests
    count -= count % TURNS  # whole conversations, so first turns are a fixed share

    fake = start_fake("anthropic")
    upstream = {"CLAUDE_API_KEY": "sk-ant-bench", "CLAUDE_URL": fake.url + "/v1/messages"}
    troopers: dict[str, Process] = {
        "SQLite file": start_trooper(trooper_env(temp_db(), **upstream)),
        ":memory:": start_trooper(trooper_env(":memory:", **upstream)),
    }
    print(f"load before: {load_conditions()}")
    try:
        with http_client() as client:
            turns = conversations("store", TURNS)
            body = per_round(turns)
            sides = [lambda i, url=t.url: timed_post(client, url + "/v1/messages", body(i)) for t in troopers.values()]
            interleave(WARMUP, sides)
            cpu_before = {name: t.cpu_seconds() for name, t in troopers.items()}
            file_times, memory_times = interleave(count, sides)
            cpu_after = {name: t.cpu_seconds() for name, t in troopers.items()}
    finally:
        for trooper in troopers.values():
            trooper.stop()
        fake.stop()
    print(f"load after:  {load_conditions()}")

    # interleave() ran rounds WARMUP.. as 0..: round i is turn (i + WARMUP) % TURNS of its conversation.
    def first(times: list[float]) -> list[float]:
        return [t for i, t in enumerate(times) if (i + WARMUP) % TURNS == 0]

    def follow_up(times: list[float]) -> list[float]:
        return [t for i, t in enumerate(times) if (i + WARMUP) % TURNS != 0]

    print(f"\nOne client, {count} interleaved rounds ({TURNS}-turn conversations)")
    print(markdown_table(LATENCY_HEADERS, [
        latency_row("SQLite file: all turns", file_times),
        latency_row(":memory:: all turns", memory_times),
        latency_row("SQLite file: first turn (new session)", first(file_times)),
        latency_row(":memory:: first turn (new session)", first(memory_times)),
        latency_row("SQLite file: follow-up turns", follow_up(file_times)),
        latency_row(":memory:: follow-up turns", follow_up(memory_times)),
    ]))
    print()
    growth = [[f"p{q}", ms(percentile(file_times, q) - percentile(memory_times, q))] for q in (50, 90, 99)]
    print(markdown_table(("file − memory", "ms"), growth))
    verdict = percentile(file_times, 50) - percentile(memory_times, 50) <= TARGET_GROWTH_MS / 1000
    print(f"target ≤ {TARGET_GROWTH_MS} ms at p50: {'met' if verdict else 'MISSED'}")
    print()
    print(markdown_table(("store", "CPU ms per request"),
                         [[name, cpu_per_request(cpu_before[name], cpu_after[name], count)] for name in troopers]))


if __name__ == "__main__":
    main()
