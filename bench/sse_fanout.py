"""Dashboard fan-out: proxy latency with 0 and with 20 open ``/api/live`` SSE listeners.

Run: .venv/bin/python bench/sse_fanout.py [--quick] [--listeners 20]

Processes: this client (one keep-alive httpx client, one request at a time), Trooper, a fake
Anthropic, and a listener process holding the SSE connections (started with ``--listen`` for the
blocks that have listeners, so their reading costs no CPU in the measuring process). Blocks with
and without listeners alternate. Each proxied request publishes one ``attempt`` and two ``turn``
updates; the feed sends a tick's updates together, identical ones once, so every listener must hear
of every session the block touched (``X-Trooper-Session``), for both types. Target: the listeners do
not slow the proxy measurably.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from common import (
    ANTHROPIC_HEADERS,
    LATENCY_HEADERS,
    ROOT,
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
    trooper_env,
)

#: Time for the last updates (and the debounced SITREP) to reach the listeners after a block.
SETTLE_SECONDS = 0.5


# ---------------------------------------------------------------- the listener process


async def listen(url: str, count: int) -> None:
    """Hold ``count`` SSE connections; print "ready" once all are open, and on SIGTERM one JSON
    line: for each connection, the sessions it heard of for each update type."""
    heard: list[collections.defaultdict[str, set[str]]] = [collections.defaultdict(set) for _ in range(count)]
    opened = asyncio.Semaphore(0)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def one(client: httpx.AsyncClient, sessions: collections.defaultdict[str, set[str]]) -> None:
        async with client.stream("GET", url + "/api/live") as response:
            async for line in response.aiter_lines():
                if line.startswith(": connected"):
                    opened.release()
                elif line.startswith("data: "):
                    update = json.loads(line[6:])
                    sessions[update.get("type", "?")].add(update.get("session_id"))

    async with httpx.AsyncClient(timeout=None, trust_env=False, limits=httpx.Limits(max_connections=count)) as client:
        tasks = [asyncio.create_task(one(client, sessions)) for sessions in heard]
        for _ in range(count):
            await opened.acquire()
        print("ready", flush=True)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps([{kind: sorted(ids) for kind, ids in sessions.items()} for sessions in heard]), flush=True)


class Listeners:
    """The listener process: ``with Listeners(url, 20) as listeners: ...; listeners.heard``."""

    def __init__(self, url: str, count: int) -> None:
        self.url, self.count = url, count
        self.heard: list[dict[str, list[str]]] = []

    def __enter__(self) -> Listeners:
        command = [sys.executable, __file__, "--listen", self.url, "--listeners", str(self.count)]
        self.popen = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.popen.stdout is not None
        if self.popen.stdout.readline().strip() != "ready":
            raise RuntimeError("the SSE listeners did not connect")
        return self

    def __exit__(self, *exc_info: object) -> None:
        time.sleep(SETTLE_SECONDS)
        self.popen.send_signal(signal.SIGTERM)
        out, _ = self.popen.communicate(timeout=20)
        self.heard = json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------- the benchmark


def post_in_session(client: httpx.Client, url: str, body: dict[str, Any]) -> tuple[float, str]:
    """(seconds, the session Trooper filed the turn under) for one non-streaming POST."""
    started = time.perf_counter()
    response = client.post(url, json=body, headers=ANTHROPIC_HEADERS)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.headers["x-trooper-session"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples: under a minute")
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=8, help="pairs of blocks (without, with listeners)")
    parser.add_argument("--block", type=int, default=200, help="requests per block")
    parser.add_argument("--listen", metavar="URL", help=argparse.SUPPRESS)  # the listener process
    args = parser.parse_args()
    if args.listen:
        asyncio.run(listen(args.listen, args.listeners))
        return
    if args.quick:
        args.rounds, args.block = 3, 120

    fake = start_fake("anthropic")
    trooper = start_trooper(trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=fake.url + "/v1/messages"))
    url = trooper.url + "/v1/messages"
    samples: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, float] = {False: 0.0, True: 0.0}  # Trooper's CPU seconds, all threads
    missing: list[str] = []
    print(f"load before: {load_conditions()}")
    try:
        with http_client() as client:
            turns = conversations("fanout", 4)
            for _ in range(20):
                timed_post(client, url, next(turns).next_body())
            for round_number in range(args.rounds):
                for with_listeners in ((False, True) if round_number % 2 == 0 else (True, False)):
                    if not with_listeners:
                        before = sum(trooper.cpu_seconds())
                        samples[False] += [timed_post(client, url, next(turns).next_body()) for _ in range(args.block)]
                        cpu[False] += sum(trooper.cpu_seconds()) - before
                        continue
                    with Listeners(trooper.url, args.listeners) as listeners:
                        before = sum(trooper.cpu_seconds())
                        posted = [post_in_session(client, url, next(turns).next_body()) for _ in range(args.block)]
                        cpu[True] += sum(trooper.cpu_seconds()) - before
                    samples[True] += [seconds for seconds, _ in posted]
                    touched = {session for _, session in posted}
                    for number, heard in enumerate(listeners.heard):
                        unheard = {kind: len(touched - set(heard.get(kind, []))) for kind in ("attempt", "turn")}
                        if any(unheard.values()):
                            missing.append(f"round {round_number} listener {number}: sessions not heard of {unheard}")
    finally:
        trooper.stop()
        fake.stop()
    print(f"load after:  {load_conditions()}")

    print(f"\nOne client, {args.rounds} rounds of {args.block}-request blocks without / with {args.listeners} listeners")
    print(markdown_table(LATENCY_HEADERS, [
        latency_row("0 listeners", samples[False]),
        latency_row(f"{args.listeners} listeners", samples[True]),
    ]))
    print()
    print(markdown_table((f"{args.listeners} − 0 listeners", "ms"),
                         [[f"p{q}", ms(percentile(samples[True], q) - percentile(samples[False], q))] for q in (50, 90, 99)]))
    per_request = {k: ms(v / max(len(samples[k]), 1)) for k, v in cpu.items()}
    print(f"\nTrooper CPU per proxied request: {per_request[False]} ms with 0 listeners, "
          f"{per_request[True]} ms with {args.listeners} (the fan-out runs on the event loop the proxy uses)")
    total = args.rounds * args.listeners
    print(f"\nlisteners that received every update (attempt and turn of every session touched): {total - len(missing)} of {total}")
    for line in missing:
        print("  " + line)


if __name__ == "__main__":
    main()
