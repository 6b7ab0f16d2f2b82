"""Failover: how fast Trooper moves on from a failed upstream, and what failures cost under load.

Run: .venv/bin/python bench/failover.py [--quick] [--clients 8] [--failure-rate 0.2]

Processes: this client, Trooper (``python -m trooper serve``), a fake Anthropic as the primary
(Claude) and a fake Ollama as the fallback (the local tier). The circuit breaker is set out of
reach (``TROOPER_BREAKER_FAILURES``) so every failure takes the failover path instead of being
skipped once the circuit opens.

1. Decision latency: the primary answers 529 at once; for each request, the time between the
   primary fake receiving it and the fallback fake receiving its request. Both fakes stamp
   arrivals with ``time.monotonic()``, one clock system-wide on Linux. The gap also holds the
   fake's own 529 exchange, so it is an upper bound of Trooper's decision; target ≤ 5 ms.
2. Under load: N concurrent clients, blocks with no faults alternating with blocks where the
   primary fails with probability p; latency distributions compared.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import httpx
from common import (
    ANTHROPIC_HEADERS,
    LATENCY_HEADERS,
    FakeProcess,
    conversations,
    http_client,
    latency_row,
    load_conditions,
    markdown_table,
    ms,
    percentile,
    start_fake,
    start_trooper,
    temp_db,
    timed_post,
    timed_stream,
    trooper_env,
)

TARGET_DECISION_MS = 5.0
OVERLOADED = {"behaviour": "overloaded"}
REPLY = {"behaviour": "reply_text"}


def arrivals(fake: FakeProcess, path: str) -> list[float]:
    return [r.arrived_at for r in fake.remote.requests() if r.path == path]


def decision_gaps(trooper_url: str, primary: FakeProcess, fallback: FakeProcess, count: int, stream: bool) -> list[float]:
    """Primary arrival → fallback arrival, one request at a time, the primary always failing."""
    primary.remote.set_default(**OVERLOADED)
    primary.remote.reset()
    fallback.remote.reset()
    turns = conversations(f"decision-{'stream' if stream else 'json'}", 4)
    with http_client() as client:
        for _ in range(count):
            body = next(turns).next_body(stream=stream)
            if stream:
                timed_stream(client, trooper_url + "/v1/messages", body)
            else:
                timed_post(client, trooper_url + "/v1/messages", body)
    first = arrivals(primary, "/v1/messages")
    second = arrivals(fallback, "/api/chat")
    if len(first) != count or len(second) != count:
        raise RuntimeError(f"expected {count} failovers, primary saw {len(first)}, fallback {len(second)}")
    return [b - a for a, b in zip(first, second)]


def direct_529_round_trips(primary: FakeProcess, count: int) -> list[float]:
    """The fake's own 529 exchange, seen from a client: what the gap holds besides Trooper."""
    primary.remote.set_default(**OVERLOADED)
    turns = conversations("direct-529", 1)
    times = []
    with http_client() as client:
        for _ in range(count):
            started = time.perf_counter()
            client.post(primary.url + "/v1/messages", json=next(turns).next_body(), headers=ANTHROPIC_HEADERS)
            times.append(time.perf_counter() - started)
    return times


async def load_block(url: str, clients: int, requests: int, prefix: str) -> list[tuple[float, str]]:
    """``requests`` turns spread over ``clients`` concurrent keep-alive clients: (seconds, provider)."""
    results: list[tuple[float, str]] = []
    turns = conversations(prefix, 4)

    async def client_loop(share: int) -> None:
        async with httpx.AsyncClient(timeout=30.0, trust_env=False) as client:
            for _ in range(share):
                body = next(turns).next_body()
                started = time.perf_counter()
                response = await client.post(url, json=body, headers=ANTHROPIC_HEADERS)
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                results.append((elapsed, response.headers.get("x-trooper-provider", "?")))

    shares = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    await asyncio.gather(*(client_loop(share) for share in shares))
    return results


def under_load(
    trooper_url: str, primary: FakeProcess, clients: int, rate: float, rounds: int, block: int
) -> dict[str, list[float]]:
    """Alternating no-fault and faulty blocks; latencies grouped by condition and who answered."""
    primary.remote.set_default(**REPLY)
    rng = random.Random(7)
    groups: dict[str, list[float]] = {"no faults": [], f"p={rate:g}: all": [], f"p={rate:g}: answered by claude": [],
                                      f"p={rate:g}: failed over to ollama": []}
    for round_number in range(rounds):
        for faulty in ((False, True) if round_number % 2 == 0 else (True, False)):
            primary.remote.reset()
            if faulty:
                specs: list[dict[str, Any]] = [OVERLOADED if rng.random() < rate else REPLY for _ in range(block)]
                primary.enqueue(specs)
            results = asyncio.run(load_block(trooper_url + "/v1/messages", clients, block, f"load-{round_number}-{faulty}"))
            if not faulty:
                groups["no faults"] += [t for t, _ in results]
                continue
            groups[f"p={rate:g}: all"] += [t for t, _ in results]
            groups[f"p={rate:g}: answered by claude"] += [t for t, who in results if who == "claude"]
            groups[f"p={rate:g}: failed over to ollama"] += [t for t, who in results if who == "ollama"]
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples: under a minute")
    parser.add_argument("--decisions", type=int, default=500, help="sequential failovers per mode")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--failure-rate", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=6, help="pairs of (no-fault, faulty) blocks")
    parser.add_argument("--block", type=int, default=400, help="requests per block")
    args = parser.parse_args()
    if args.quick:
        args.decisions, args.rounds, args.block = 150, 2, 200

    primary = start_fake("anthropic")
    fallback = start_fake("ollama")
    trooper = start_trooper(trooper_env(
        temp_db(),
        CLAUDE_API_KEY="sk-ant-bench",
        CLAUDE_URL=primary.url + "/v1/messages",
        FALLBACK_URL=fallback.url + "/api/chat",
        TROOPER_BREAKER_FAILURES="1000000000",
    ))
    print(f"load before: {load_conditions()}")
    try:
        direct = direct_529_round_trips(primary, args.decisions)
        gaps = decision_gaps(trooper.url, primary, fallback, args.decisions, stream=False)
        stream_gaps = decision_gaps(trooper.url, primary, fallback, args.decisions, stream=True)
        groups = under_load(trooper.url, primary, args.clients, args.failure_rate, args.rounds, args.block)
    finally:
        trooper.stop()
        primary.stop()
        fallback.stop()
    print(f"load after:  {load_conditions()}")

    print(f"\nDecision latency: primary 529 → fallback request received, {args.decisions} sequential requests each")
    print(markdown_table(LATENCY_HEADERS, [
        latency_row("non-streaming: primary arrival → fallback arrival", gaps),
        latency_row("streaming: primary arrival → fallback arrival", stream_gaps),
        latency_row("for scale: a client's own 529 round trip to the fake", direct),
    ]))
    worst_p50 = max(percentile(gaps, 50), percentile(stream_gaps, 50))
    print(f"target ≤ {TARGET_DECISION_MS} ms (p50, upper bound): {'met' if worst_p50 * 1000 <= TARGET_DECISION_MS else 'MISSED'}")

    print(f"\nUnder load: {args.clients} concurrent clients, {args.rounds} rounds of {args.block}-request blocks, "
          f"primary failing with p={args.failure_rate:g} in faulty blocks")
    print(markdown_table(LATENCY_HEADERS, [latency_row(name, samples) for name, samples in groups.items() if samples]))
    base, faulty = groups["no faults"], groups[f"p={args.failure_rate:g}: all"]
    print()
    print(markdown_table(("failover overhead (faulty − no faults)", "ms"),
                         [[f"p{q}", ms(percentile(faulty, q) - percentile(base, q))] for q in (50, 90, 99)]))


if __name__ == "__main__":
    main()
