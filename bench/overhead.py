"""Proxy overhead: the same requests straight to a fake Anthropic and through Trooper, interleaved.

Run: .venv/bin/python bench/overhead.py [--quick] [--requests N]

Three processes: this client (a plain keep-alive httpx client, one request at a time), Trooper
(``python -m trooper serve``, file-backed store, no local tier) and the fake upstream it forwards
to. Each conversation turn is sent once directly and once through Trooper, the order alternating,
so machine noise hits both sides alike. Added latency = through − direct at the same percentile.
Targets: added p50 ≤ 1 ms and p99 ≤ 3 ms (non-streaming, one client).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from common import (
    LATENCY_HEADERS,
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


def added_rows(direct: list[float], through: list[float]) -> list[list[str]]:
    return [
        [f"added p{q}", ms(percentile(through, q) - percentile(direct, q))] for q in (50, 90, 99)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="non-streaming pairs (streams: half as many)")
    parser.add_argument("--quick", action="store_true", help="600 pairs: under a minute")
    parser.add_argument("--turns", type=int, default=4, help="turns per conversation (each resends the history)")
    args = parser.parse_args()
    count = 600 if args.quick else args.requests

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    trooper = start_trooper(trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream))
    proxied = trooper.url + "/v1/messages"
    print(f"load before: {load_conditions()}")
    try:
        with http_client() as client:
            turns = conversations("overhead", args.turns)

            def pair(stream: bool) -> list[Callable[[int], float]]:
                body = per_round(turns, stream)
                if stream:
                    return [lambda i: timed_stream(client, upstream, body(i))[0],
                            lambda i: timed_stream(client, proxied, body(i))[0]]
                return [lambda i: timed_post(client, upstream, body(i)), lambda i: timed_post(client, proxied, body(i))]

            interleave(WARMUP, pair(stream=False))
            rss_before = trooper.rss_mb()
            cpu_before, fake_before = trooper.cpu_seconds(), sum(fake.cpu_seconds())
            direct, through = interleave(count, pair(stream=False))
            cpu_after, fake_after = trooper.cpu_seconds(), sum(fake.cpu_seconds())
            rss_after = trooper.rss_mb()
            stream_direct, stream_through = interleave(max(count // 2, 1), pair(stream=True))
            rss_end = trooper.rss_mb()
    finally:
        trooper.stop()
        fake.stop()

    print(f"load after:  {load_conditions()}")
    print(f"\nNon-streaming, one client, {count} interleaved pairs ({args.turns}-turn conversations)")
    print(markdown_table(LATENCY_HEADERS, [latency_row("direct to fake", direct), latency_row("through Trooper", through)]))
    print()
    print(markdown_table(("non-streaming", "ms"), added_rows(direct, through)))
    verdict_p50 = percentile(through, 50) - percentile(direct, 50) <= TARGET_ADDED_P50_MS / 1000
    verdict_p99 = percentile(through, 99) - percentile(direct, 99) <= TARGET_ADDED_P99_MS / 1000
    print(f"target added p50 ≤ {TARGET_ADDED_P50_MS} ms: {'met' if verdict_p50 else 'MISSED'}; "
          f"p99 ≤ {TARGET_ADDED_P99_MS} ms: {'met' if verdict_p99 else 'MISSED'}")

    loop_cpu, other_cpu = ((after - before) / count for before, after in zip(cpu_before, cpu_after))
    print(f"Trooper CPU per proxied request: {ms(loop_cpu)} ms on the event-loop thread, {ms(other_cpu)} ms on "
          f"other threads (store); the fake upstream: {ms((fake_after - fake_before) / (2 * count))} ms per request")

    print(f"\nStreaming time to first byte, {len(stream_direct)} interleaved pairs")
    print(markdown_table(LATENCY_HEADERS, [latency_row("direct to fake", stream_direct), latency_row("through Trooper", stream_through)]))
    print()
    print(markdown_table(("stream TTFB", "ms"), added_rows(stream_direct, stream_through)))

    total = WARMUP + count + len(stream_direct)
    print(f"\nTrooper RSS (MB): {rss_before:.1f} after warm-up, {rss_after:.1f} after {count} more requests, "
          f"{rss_end:.1f} after {len(stream_direct)} streams ({total} requests in all); "
          f"growth {(rss_end - rss_before) / max(count + len(stream_direct), 1) * 1024:.2f} kB per request")


if __name__ == "__main__":
    main()
