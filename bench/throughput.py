"""Throughput under many clients: req/s and latency at 16, 64 and 128 clients, direct and through Trooper.

Run: .venv/bin/python bench/throughput.py [--quick] [--seconds S] [--clients 16,64,128] [--baseline DIR]
                                          [--floor] [--postgres postgresql://…]

Three processes, as in bench/overhead.py: this load generator (asyncio + aiohttp, one keep-alive
connection and one session per client), Trooper (``python -m trooper serve``, file store, no
local tier) and the fake Anthropic it forwards to. For each client count, timed blocks alternate
between sending straight to the fake and through each Trooper, so machine noise hits every side
alike; each client sends the next turn of its own conversation as soon as the last one is answered.
Reported per side: requests per second, p50 and p99 latency, and for each Trooper the CPU time
(all threads) per proxied turn. On a shared two-core machine the load generator, the fake and
Trooper compete for the same cores, so the ratio to direct measures Trooper's CPU per turn more
than anything else. Targets (issue #17): ≥ 0.6× direct at 64 clients with p99 ≤ 2× direct's.

``--floor`` adds bench/minimal_proxy.py's Tornado proxy, which only forwards (bench/proxy_floor.py):
the throughput a proxy hop on Trooper's server reaches on this machine with no work of its own,
the ceiling of Trooper's ratio to direct here.

``--postgres URL`` (an empty database) adds two sides: one Trooper on that PostgreSQL store, and
two replicas on it behind Debian's nginx configured with deploy/nginx-trooper.conf (tests/nginx.py),
the deployment of docs/deploy.md, next to the one Trooper on a SQLite file (issue #20: ≥ 1.7× its throughput at 64
clients where the cores allow it).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path

import aiohttp
from common import (
    ANTHROPIC_HEADERS,
    FULL_COLLECTION_WAIT,
    Conversation,
    collections_between,
    full_collection,
    gc_probe,
    load_conditions,
    markdown_table,
    ms,
    percentile,
    print_collections,
    start_fake,
    start_reference,
    start_trooper,
    temp_db,
    trooper_env,
)

from tests.nginx import Nginx  # common.py put the repository on the path

BALANCED = "2 replicas + nginx, PostgreSQL"
FLOOR = "minimal proxy (Tornado)"
TARGET_RATIO_AT_64 = 0.6
TARGET_P99_RATIO_AT_64 = 2.0
#: Turns per conversation before a client starts a new one (each turn resends the history).
TURNS_EACH = 4


async def load_block(url: str, clients: int, seconds: float, prefix: str) -> list[float]:
    """Latencies of every turn ``clients`` concurrent clients complete within ``seconds``."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=ANTHROPIC_HEADERS) as session:

        async def client(number: int) -> None:
            conversation_number = 0
            while time.monotonic() < deadline:
                conversation = Conversation(f"{prefix}-c{number}-{conversation_number}")
                # Its own key: Trooper shares answers in flight fairly between clients (address and key).
                headers = {"X-Session-ID": conversation.name, "x-api-key": f"sk-ant-bench-{number}"}
                for _ in range(TURNS_EACH):
                    if time.monotonic() >= deadline:
                        return
                    started = time.perf_counter()
                    async with session.post(url, json=conversation.next_body(), headers=headers) as response:
                        await response.read()
                        response.raise_for_status()
                    latencies.append(time.perf_counter() - started)
                    conversation.answer()
                conversation_number += 1

        await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies


def _env(upstream: str, db: str | None = None) -> dict[str, str]:
    # 128 clients each with a turn in flight: more than the default 64 answers at once.
    return trooper_env(db or temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream, TROOPER_MAX_STREAMS="256")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="16,64,128", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one timed block")
    parser.add_argument("--rounds", type=int, default=3, help="blocks per side and client count")
    parser.add_argument("--quick", action="store_true", help="one 2-second round at 16 clients: a smoke run")
    parser.add_argument("--baseline", type=Path, help="a checkout whose Trooper is measured alongside, interleaved")
    parser.add_argument("--floor", action="store_true", help="a proxy that only forwards, on Tornado, measured alongside")
    parser.add_argument("--postgres", help="a PostgreSQL URL: two replicas on it behind nginx are measured alongside")
    parser.add_argument("--gc", action="store_true", help="record Trooper's (and the baseline's) garbage collections (bench/gc_probe.py)")
    args = parser.parse_args()
    counts = [16] if args.quick else [int(c) for c in args.clients.split(",")]
    seconds, rounds = (2.0, 1) if args.quick else (args.seconds, args.rounds)

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    gc_logs: dict[str, Path] = {}
    if args.gc:
        gc_logs = {name: Path(tempfile.mkstemp(prefix="trooper-bench-gc-", suffix=".jsonl")[1]) for name in ("Trooper", "baseline")}
    troopers = {"Trooper": start_trooper(_env(upstream), serve=gc_probe(gc_logs.get("Trooper")))}
    if args.baseline is not None:
        troopers["baseline"] = start_trooper(_env(upstream), args.baseline, gc_probe(gc_logs.get("baseline")))
    if args.floor:
        troopers[FLOOR] = start_reference("tornado", upstream)
    balancer: Nginx | None = None
    if args.postgres is not None:
        # One Trooper on PostgreSQL alone too: the store's cost apart from the replicas'.
        troopers["Trooper, PostgreSQL"] = start_trooper(_env(upstream, args.postgres))
        replicas = [start_trooper(_env(upstream, args.postgres)) for _ in range(2)]
        troopers |= {f"replica {n + 1}": replica for n, replica in enumerate(replicas)}
        balancer = Nginx(Path(tempfile.mkdtemp(prefix="trooper-bench-nginx-")), [r.url.removeprefix("http://") for r in replicas])
    sides = {"direct": upstream} | {name: process.url + "/v1/messages" for name, process in troopers.items()
                                    if not name.startswith("replica")}
    if balancer is not None:
        sides[BALANCED] = balancer.url + "/v1/messages"
    print(f"load before: {load_conditions()}")
    rows = []
    turns: dict[str, int] = {name: 0 for name in sides}
    try:
        asyncio.run(load_block(upstream, 4, 1.0, "warm"))
        for name, url in sides.items():
            if name != "direct":
                asyncio.run(load_block(url, 4, 1.0, "warm"))
        measured_from = time.monotonic()
        for clients in counts:
            latencies: dict[str, list[float]] = {name: [] for name in sides}
            cpu: dict[str, float] = {name: 0.0 for name in sides if name != "direct"}
            for round_number in range(rounds):
                order = list(sides)[round_number % len(sides):] + list(sides)[: round_number % len(sides)]
                for name in order:
                    measured = [troopers[n] for n in troopers if n == name or (name == BALANCED and n.startswith("replica"))]
                    before = sum(sum(process.cpu_seconds()) for process in measured)
                    prefix = re.sub(r"[^\w.-]+", "-", name)  # session ids: letters, digits and a few marks
                    latencies[name] += asyncio.run(load_block(sides[name], clients, seconds, f"{prefix}-{clients}-{round_number}"))
                    if name in cpu:
                        cpu[name] += sum(sum(process.cpu_seconds()) for process in measured) - before
            for name, samples in latencies.items():
                turns[name] += len(samples)
            direct_rate = len(latencies["direct"]) / (seconds * rounds)
            direct_p99 = percentile(latencies["direct"], 99)
            for name, samples in latencies.items():
                rate = len(samples) / (seconds * rounds)
                per_turn = ms(cpu[name] / len(samples)) if name in cpu and samples else "—"
                rows.append([clients, name, f"{rate:.0f}", f"{rate / direct_rate:.2f}", ms(percentile(samples, 50)),
                             ms(percentile(samples, 99)), f"{percentile(samples, 99) / direct_p99:.2f}", per_turn])
        measured_to = time.monotonic()
        if gc_logs:
            full_collection(troopers[name] for name in gc_logs if name in troopers)
    finally:
        if balancer is not None:
            balancer.stop()
        for process in troopers.values():
            process.stop()
        fake.stop()
    print(f"load after:  {load_conditions()}")
    print(f"\n{rounds} interleaved {seconds:g}-second blocks per side and client count, one session per client, "
          f"{TURNS_EACH}-turn conversations")
    headers = ("clients", "side", "req/s", "× direct", "p50 ms", "p99 ms", "p99 × direct", "proxy CPU ms / turn")
    print(markdown_table(headers, rows))
    for name, log in gc_logs.items():
        if name in troopers:
            print_collections(name, collections_between(log, measured_from, measured_to + FULL_COLLECTION_WAIT), turns[name])
    balanced = {row[0]: float(row[2]) / float(one[2]) for row in rows if row[1] == BALANCED
                for one in rows if one[0] == row[0] and one[1] == "Trooper"}
    if balanced:
        print("\n" + "; ".join(f"{clients} clients: two replicas on PostgreSQL {ratio:.2f}× one on SQLite"
                               for clients, ratio in balanced.items()))
    at_64 = [row for row in rows if row[0] == 64 and row[1] == "Trooper"]
    if at_64:
        met = float(at_64[0][3]) >= TARGET_RATIO_AT_64 and float(at_64[0][6]) <= TARGET_P99_RATIO_AT_64
        print(f"\ntarget at 64 clients (≥ {TARGET_RATIO_AT_64}× direct, p99 ≤ {TARGET_P99_RATIO_AT_64}× direct's): "
              f"{'met' if met else 'MISSED'} in this run")


if __name__ == "__main__":
    main()
