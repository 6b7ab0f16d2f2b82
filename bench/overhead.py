"""Proxy overhead: the same requests straight to a fake Anthropic and through Trooper, interleaved.

Run: .venv/bin/python bench/overhead.py [--quick] [--requests N] [--baseline DIR]

Three processes: this client (a plain keep-alive httpx client, one request at a time), Trooper
(``python -m trooper serve``, file-backed store, no local tier) and the fake upstream it forwards
to. Each conversation turn is sent once directly and once through Trooper, the order rotating,
so machine noise hits both sides alike. Added latency = through − direct at the same percentile.
``--baseline DIR`` also runs the Trooper of another checkout (``git worktree add DIR <commit>``)
and sends every turn through it too: a before/after comparison taken in one run.
Targets: added p50 ≤ 1 ms and p99 ≤ 3 ms (non-streaming, one client).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

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
    timed_stream,
    trooper_env,
)

TARGET_ADDED_P50_MS = 1.0
TARGET_ADDED_P99_MS = 3.0
WARMUP = 30


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
    args = parser.parse_args()
    count = 600 if args.quick else args.requests

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    env = trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream)
    troopers: dict[str, Process] = {"Trooper": start_trooper(env)}
    if args.baseline is not None:
        troopers["baseline"] = start_trooper(trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream), args.baseline)
    trooper = troopers["Trooper"]
    print(f"load before: {load_conditions()}")
    try:
        with http_client() as client:
            turns = conversations("overhead", args.turns)

            def sides(stream: bool) -> list[Callable[[int], float]]:
                body = per_round(turns, stream)
                urls = [upstream] + [process.url + "/v1/messages" for process in troopers.values()]
                if stream:
                    return [lambda i, url=url: timed_stream(client, url, body(i))[0] for url in urls]
                return [lambda i, url=url: timed_post(client, url, body(i)) for url in urls]

            interleave(WARMUP, sides(stream=False))
            rss_before = trooper.rss_mb()
            cpu_before = {name: process.cpu_seconds() for name, process in troopers.items()}
            fake_before = sum(fake.cpu_seconds())
            direct, *through = interleave(count, sides(stream=False))
            cpu_after = {name: process.cpu_seconds() for name, process in troopers.items()}
            fake_after = sum(fake.cpu_seconds())
            rss_after = trooper.rss_mb()
            stream_direct, *stream_through = interleave(max(count // 2, 1), sides(stream=True))
            rss_end = trooper.rss_mb()
    finally:
        for process in troopers.values():
            process.stop()
        fake.stop()

    names = list(troopers)
    print(f"load after:  {load_conditions()}")
    print_comparison(f"\nNon-streaming, one client, {count} interleaved rounds ({args.turns}-turn conversations)",
                     "non-streaming", direct, dict(zip(names, through)))
    verdict_p50 = percentile(through[0], 50) - percentile(direct, 50) <= TARGET_ADDED_P50_MS / 1000
    verdict_p99 = percentile(through[0], 99) - percentile(direct, 99) <= TARGET_ADDED_P99_MS / 1000
    print(f"target added p50 ≤ {TARGET_ADDED_P50_MS} ms: {'met' if verdict_p50 else 'MISSED'}; "
          f"p99 ≤ {TARGET_ADDED_P99_MS} ms: {'met' if verdict_p99 else 'MISSED'}")

    for name in names:
        loop_cpu, other_cpu = ((after - before) / count for before, after in zip(cpu_before[name], cpu_after[name]))
        print(f"{name} CPU per proxied request: {ms(loop_cpu)} ms on the event-loop thread, {ms(other_cpu)} ms on "
              f"other threads (store)")
    print(f"the fake upstream: {ms((fake_after - fake_before) / ((1 + len(names)) * count))} ms per request")

    print_comparison(f"\nStreaming time to first byte, {len(stream_direct)} interleaved rounds",
                     "stream TTFB", stream_direct, dict(zip(names, stream_through)))

    total = WARMUP + count + len(stream_direct)
    print(f"\nTrooper RSS (MB): {rss_before:.1f} after warm-up, {rss_after:.1f} after {count} more requests, "
          f"{rss_end:.1f} after {len(stream_direct)} streams ({total} requests in all); "
          f"growth {(rss_end - rss_before) / max(count + len(stream_direct), 1) * 1024:.2f} kB per request")


if __name__ == "__main__":
    main()
