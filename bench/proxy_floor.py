"""Proxy floor: Trooper's added latency next to the least any Python proxy hop adds on this machine.

Run: .venv/bin/python bench/proxy_floor.py [--quick] [--requests N] [--baseline DIR]

One fake Anthropic; in front of it Trooper (``python -m trooper serve``, file store, no local
tier) and two reference proxies from ``bench/minimal_proxy.py`` that only forward (aiohttp's
server, and Tornado's server as Trooper uses it; both send upstream with aiohttp on uvloop). Each
turn goes straight to the fake and through every proxy, the order rotating, so machine noise hits
all sides alike. Added latency = through − direct at the same percentile; CPU per request comes
from /proc. What the reference proxies add is the floor of a Python proxy hop here: two HTTP
exchanges, two JSON round trips and the processes' wake-ups on the shared cores. Trooper's own
work is its added p50 less the Tornado forwarder's. ``--baseline DIR`` runs the Trooper of another
checkout (``git worktree add DIR <commit>``) as one more side of the same rounds: a before/after
comparison of that own work taken in one run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from common import (
    LATENCY_HEADERS,
    ROOT,
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
    start_reference,
    start_trooper,
    temp_db,
    timed_post,
    trooper_env,
)

REFERENCES = ("aiohttp", "tornado")
#: The reference whose added p50 Trooper's own work is measured against: Trooper's own server.
FORWARDER = "minimal proxy (tornado server)"
WARMUP = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="rounds (one request to every side each)")
    parser.add_argument("--quick", action="store_true", help="600 rounds: about a minute")
    parser.add_argument("--baseline", type=Path, help="a checkout whose Trooper is measured alongside, interleaved")
    args = parser.parse_args()
    count = 600 if args.quick else args.requests
    troopers = {"Trooper": ROOT, **({"baseline": args.baseline} if args.baseline is not None else {})}

    fake = start_fake("anthropic")
    upstream = fake.url + "/v1/messages"
    proxies: dict[str, Process] = {}
    try:
        for kind in REFERENCES:
            proxies[f"minimal proxy ({kind} server)"] = start_reference(kind, upstream)
        for name, source in troopers.items():
            proxies[name] = start_trooper(trooper_env(temp_db(), CLAUDE_API_KEY="sk-ant-bench", CLAUDE_URL=upstream), source)
        print(f"load before: {load_conditions()}")
        with http_client() as client:
            body = per_round(conversations("floor", 4))
            urls = [upstream] + [proxy.url + "/v1/messages" for proxy in proxies.values()]
            sides: list[Callable[[int], float]] = [lambda i, url=url: timed_post(client, url, body(i)) for url in urls]
            interleave(WARMUP, sides)
            cpu_before = [sum(proxy.cpu_seconds()) for proxy in proxies.values()]
            direct, *through = interleave(count, sides)
            cpu_after = [sum(proxy.cpu_seconds()) for proxy in proxies.values()]
    finally:
        for proxy in proxies.values():
            proxy.stop()
        fake.stop()

    print(f"load after:  {load_conditions()}")
    print(f"\n{count} rounds, one client, non-streaming, 4-turn conversations")
    print(markdown_table(LATENCY_HEADERS, [latency_row("direct to fake", direct)]
                         + [latency_row(name, samples) for name, samples in zip(proxies, through)]))
    print()
    rows = []
    added_p50: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for (name, samples), before, after in zip(zip(proxies, through), cpu_before, cpu_after):
        added_p50[name] = percentile(samples, 50) - percentile(direct, 50)
        cpu[name] = (after - before) / count
        added = [ms(percentile(samples, q) - percentile(direct, q)) for q in (50, 90, 99)]
        rows.append([name, *added, ms(cpu[name])])
    print(markdown_table(("proxy", "added p50 ms", "added p90 ms", "added p99 ms", "CPU ms per request"), rows))
    print()
    own = [[name, ms(added_p50[name] - added_p50[FORWARDER]), ms(cpu[name] - cpu[FORWARDER])]
           for name in troopers]
    print(markdown_table(("own work, less the Tornado forwarder's", "added p50 ms", "CPU ms per request"), own))


if __name__ == "__main__":
    main()
