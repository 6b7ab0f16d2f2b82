"""Proxy overhead: the same requests straight to a fake Anthropic and through Trooper, interleaved.

Run: .venv/bin/python bench/overhead.py [--quick] [--requests N] [--baseline DIR] [--doors messages,chat,responses]
                                        [--postgres postgresql://…] [--baseline-postgres postgresql://…]

Three processes: this client (a plain keep-alive httpx client, one request at a time), Trooper
(``python -m trooper serve``, file-backed store, no local tier) and the fake upstream it forwards
to. Each conversation turn is sent once directly and once through Trooper, the order rotating,
so machine noise hits both sides alike. Added latency = through − direct at the same percentile.
``--baseline DIR`` also runs the Trooper of another checkout (``git worktree add DIR <commit>``)
and sends every turn through it too: a before/after comparison taken in one run. ``--doors``
sends every turn through each of Trooper's front doors named (Anthropic Messages, OpenAI Chat
Completions, OpenAI Responses), each door's turns in sessions of their own and with user texts of
their own (``own_texts``): the doors side by
side in one run, with the CPU each door's requests cost Trooper (the scheduler's run time of its
threads from a request's start to its response's end, per request: robust where the machine's load
drowns a small latency difference). ``--postgres URL`` also runs a Trooper whose store is that PostgreSQL database
(an empty one: its tables are created) next to the one on a SQLite file, interleaved the same way;
``--baseline-postgres URL`` (another empty database) runs the ``--baseline`` checkout's Trooper on
PostgreSQL too: a before/after of the PostgreSQL store in one run. ``--gc`` serves each Trooper
through bench/gc_probe.py and reports its garbage collections during the non-streaming rounds.
``--tools N`` makes every turn offer N function tools in its door's shape, as agents' turns do.
Targets: added p50 ≤ 1 ms and p99 ≤ 3 ms (non-streaming, one client).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import (
    ANTHROPIC_HEADERS,
    FULL_COLLECTION_WAIT,
    LATENCY_HEADERS,
    Process,
    collections_between,
    conversations,
    full_collection,
    gc_probe,
    http_client,
    interleave,
    latency_row,
    load_conditions,
    markdown_table,
    ms,
    per_round,
    percentile,
    print_collections,
    start_fake,
    start_trooper,
    temp_db,
    timed_post,
    timed_stream,
    trooper_env,
)

TARGET_ADDED_P50_MS = 1.0
TARGET_ADDED_P99_MS = 3.0
WARMUP = 30


def as_responses(body: dict[str, Any]) -> dict[str, Any]:
    """A Messages turn as the Responses API takes it: the history resent as input items."""
    return {"model": body["model"], "max_output_tokens": body["max_tokens"], "input": body["messages"], "stream": body["stream"]}


#: Each front door: its path, and the turn's body in its protocol (these plain-text Messages
#: bodies are valid Chat Completions bodies as they are).
DOORS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "messages": ("/v1/messages", lambda body: body),
    "chat": ("/v1/chat/completions", lambda body: body),
    "responses": ("/v1/responses", as_responses),
}


#: A function tool in each door's shape, from its name, description and JSON schema.
TOOL_SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "messages": lambda t: {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]},
    "chat": lambda t: {"type": "function", "function": t},
    "responses": lambda t: {"type": "function", **t},
}


def agent_tools(count: int) -> list[dict[str, Any]]:
    """``count`` function tools of eight arguments each, the same on every turn, as an agent offers them."""
    arguments = {f"arg{j}": {"type": "string", "description": f"argument {j}: the path or text to work on"} for j in range(8)}
    schema = {"type": "object", "properties": arguments, "required": ["arg0"], "additionalProperties": False}
    return [{"name": f"tool_{i}", "description": f"Runs step {i} of the workspace's build, carefully.", "parameters": schema}
            for i in range(count)]


def own_texts(door: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with its user messages marked as ``door``'s, the same way on every turn. Each door
    then meets texts of its own, as in use: with one text for all, the door named first met each
    new text first in two rounds of three and paid, for both doors, what is cached by content
    after it (the store mask's and privacy's scans)."""
    messages = [{**m, "content": f"[{door}] {m['content']}"} if m["role"] == "user" else m for m in body["messages"]]
    return {**body, "messages": messages}


def door_headers(door: str, body: dict[str, Any]) -> dict[str, str]:
    """The headers of a turn through ``door``: its conversation gets a session of its own at each
    door (all doors would otherwise share one, derived from the same opening)."""
    opening = str(body["messages"][0]["content"]).encode()
    return {**ANTHROPIC_HEADERS, "X-Session-ID": f"{door}-{hashlib.sha256(opening).hexdigest()[:16]}"}


def print_comparison(title: str, measure: str, direct: list[float], through: dict[str, list[float]]) -> None:
    """The latency of each side, then what each Trooper added at p50/p90/p99."""
    print(title)
    rows = [latency_row("direct to fake", direct)] + [latency_row(f"through {name}", s) for name, s in through.items()]
    print(markdown_table(LATENCY_HEADERS, rows))
    print()
    added = [
        [f"{name}: added p{q}", ms(percentile(samples, q) - percentile(direct, q))]
        for name, samples in through.items()
        for q in (50, 90, 99)
    ]
    print(markdown_table((measure, "ms"), added))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="non-streaming pairs (streams: half as many)")
    parser.add_argument("--quick", action="store_true", help="600 pairs: under a minute")
    parser.add_argument("--turns", type=int, default=4, help="turns per conversation (each resends the history)")
    parser.add_argument("--baseline", type=Path, help="a checkout whose Trooper is measured alongside, interleaved")
    parser.add_argument("--postgres", help="a PostgreSQL URL: a Trooper on that store is measured alongside, interleaved")
    parser.add_argument("--doors", default="messages", help="front doors to go through, comma-separated: " + ", ".join(DOORS))
    parser.add_argument("--baseline-postgres", help="another PostgreSQL URL: the baseline's Trooper on that store, alongside")
    parser.add_argument("--tools", type=int, default=0, help="function tools every turn offers, as agents' turns do")
    parser.add_argument("--gc", action="store_true", help="record each Trooper's garbage collections (bench/gc_probe.py)")
    args = parser.parse_args()
    if args.baseline_postgres is not None and args.baseline is None:
        parser.error("--baseline-postgres needs --baseline")
    count = 600 if args.quick else args.requests
    doors = args.doors.split(",")
    unknown = set(doors) - set(DOORS)
    if unknown:
        parser.error(f"unknown doors {sorted(unknown)}; choose from {', '.join(DOORS)}")

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    env = trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream)
    gc_logs: dict[str, Path] = {}
    if args.gc:
        gc_logs = {name: Path(tempfile.mkstemp(prefix="trooper-bench-gc-", suffix=".jsonl")[1]) for name in ("Trooper", "baseline")}
    troopers: dict[str, Process] = {"Trooper": start_trooper(env, serve=gc_probe(gc_logs.get("Trooper")))}
    if args.baseline is not None:
        troopers["baseline"] = start_trooper(
            trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream), args.baseline, gc_probe(gc_logs.get("baseline"))
        )
    if args.postgres is not None:
        troopers["PostgreSQL"] = start_trooper(trooper_env(args.postgres, CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream))
    if args.baseline_postgres is not None:
        troopers["baseline PostgreSQL"] = start_trooper(
            trooper_env(args.baseline_postgres, CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream), args.baseline
        )
    trooper = troopers["Trooper"]
    print(f"load before: {load_conditions()}")
    try:
        with http_client() as client:
            turns = conversations("overhead", args.turns)

            def sides(stream: bool, cpu: dict[str, list[tuple[int, int]]] | None = None) -> list[Callable[[int], float]]:
                body = per_round(turns, stream)
                direct: list[Callable[[int], float]] = [
                    (lambda i: timed_stream(client, upstream, body(i))[0]) if stream else (lambda i: timed_post(client, upstream, body(i)))
                ]
                return direct + [
                    door_side(
                        client, process, door, body, stream, None if cpu is None else cpu.setdefault(side_name(name, door, doors), []),
                        own=len(doors) > 1, tools=[TOOL_SHAPES[door](t) for t in agent_tools(args.tools)],
                    )
                    for name, process in troopers.items()
                    for door in doors
                ]

            interleave(WARMUP, sides(stream=False))
            rss_before = trooper.rss_mb()
            cpu_before = {name: process.cpu_seconds() for name, process in troopers.items()}
            fake_before = sum(fake.cpu_seconds())
            request_cpu: dict[str, list[tuple[int, int]]] = {}
            window_start = time.monotonic()
            direct, *through = interleave(count, sides(stream=False, cpu=request_cpu))
            window_end = time.monotonic()
            if gc_logs:
                full_collection(troopers[name] for name in gc_logs if name in troopers)
            cpu_after = {name: process.cpu_seconds() for name, process in troopers.items()}
            fake_after = sum(fake.cpu_seconds())
            rss_after = trooper.rss_mb()
            stream_direct, *stream_through = interleave(max(count // 2, 1), sides(stream=True))
            rss_end = trooper.rss_mb()
    finally:
        for process in troopers.values():
            process.stop()
        fake.stop()

    names = [side_name(name, door, doors) for name in troopers for door in doors]
    print(f"load after:  {load_conditions()}")
    print_comparison(f"\nNon-streaming, one client, {count} interleaved rounds ({args.turns}-turn conversations)",
                     "non-streaming", direct, dict(zip(names, through)))
    verdict_p50 = percentile(through[0], 50) - percentile(direct, 50) <= TARGET_ADDED_P50_MS / 1000
    verdict_p99 = percentile(through[0], 99) - percentile(direct, 99) <= TARGET_ADDED_P99_MS / 1000
    print(f"target added p50 ≤ {TARGET_ADDED_P50_MS} ms: {'met' if verdict_p50 else 'MISSED'}; "
          f"p99 ≤ {TARGET_ADDED_P99_MS} ms: {'met' if verdict_p99 else 'MISSED'}")

    for name in troopers:
        proxied = count * len(doors)
        loop_cpu, other_cpu = ((after - before) / proxied for before, after in zip(cpu_before[name], cpu_after[name]))
        print(f"{name} CPU per proxied request: {ms(loop_cpu)} ms on the event-loop thread, {ms(other_cpu)} ms on "
              f"other threads (store)" + (f", over its doors ({', '.join(doors)})" if len(doors) > 1 else ""))
    print(f"the fake upstream: {ms((fake_after - fake_before) / ((1 + len(names)) * count))} ms per request")
    if len(doors) > 1:
        print_request_cpu(request_cpu)
    for name, log in gc_logs.items():
        if name in troopers:
            print_collections(name, collections_between(log, window_start, window_end + FULL_COLLECTION_WAIT), count * len(doors))

    print_comparison(f"\nStreaming time to first byte, {len(stream_direct)} interleaved rounds",
                     "stream TTFB", stream_direct, dict(zip(names, stream_through)))

    total = (WARMUP + count + len(stream_direct)) * len(doors)
    print(f"\nTrooper RSS (MB): {rss_before:.1f} after warm-up, {rss_after:.1f} after {count} more requests, "
          f"{rss_end:.1f} after {len(stream_direct)} streams ({total} requests in all); "
          f"growth {(rss_end - rss_before) / max((count + len(stream_direct)) * len(doors), 1) * 1024:.2f} kB per request")


def door_side(
    client: Any, process: Process, door: str, body: Callable[[int], dict[str, Any]], stream: bool,
    cpu: list[tuple[int, int]] | None = None, own: bool = False, tools: list[dict[str, Any]] | None = None,
) -> Callable[[int], float]:
    """One side of the interleaved rounds: round i's turn through ``door`` of the Trooper ``process``
    (with ``own``, its texts marked as the door's: ``own_texts``; with ``tools``, offering them);
    with ``cpu``, what each request cost its threads (main, others; ns) is appended there."""
    path, shaped = DOORS[door]
    url = process.url + path

    def side(i: int) -> float:
        turn = own_texts(door, body(i)) if own else body(i)
        payload = {**shaped(turn), "tools": tools} if tools else shaped(turn)
        before = process.cpu_ns() if cpu is not None else (0, 0)
        if stream:
            took = timed_stream(client, url, payload, door_headers(door, turn))[0]
        else:
            took = timed_post(client, url, payload, door_headers(door, turn))
        if cpu is not None:  # read after the timing: it does not count in the latency
            after = process.cpu_ns()
            cpu.append((after[0] - before[0], after[1] - before[1]))
        return took

    return side


def print_request_cpu(request_cpu: dict[str, list[tuple[int, int]]]) -> None:
    """Each side's CPU per request, mean and median. What a thread does after a response has gone
    (its last bookkeeping) counts in the next request of whichever side comes next."""
    rows = []
    for name, samples in request_cpu.items():
        loop = [main / 1e9 for main, _ in samples]
        others = [other / 1e9 for _, other in samples]
        rows.append([name, ms(sum(loop) / len(loop)), ms(percentile(loop, 50)), ms(sum(others) / len(others)), ms(percentile(others, 50))])
    headers = ("CPU per request", "event loop mean ms", "event loop p50 ms", "other threads mean ms", "other threads p50 ms")
    print(markdown_table(headers, rows))


def side_name(trooper: str, door: str, doors: list[str]) -> str:
    return trooper if doors == ["messages"] else f"{trooper} {DOORS[door][0]}"


if __name__ == "__main__":
    main()
