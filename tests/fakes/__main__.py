"""Run one fake upstream as its own process, for end-to-end tests and benchmarks.

    python -m tests.fakes anthropic --port 0 [--default '{"behaviour": "echo"}']

prints the base URL on stdout, serves until SIGINT/SIGTERM, and accepts scripting over HTTP
(see ``tests.fakes.remote``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.ollama import FakeOllama
from tests.fakes.openai import FakeGemini, FakeOpenAI
from tests.fakes.remote import behaviour_from_spec, control_routes
from tests.fakes.server import FakeServer

FAKES: dict[str, type[FakeServer]] = {
    "anthropic": FakeAnthropic,
    "openai": FakeOpenAI,
    "gemini": FakeGemini,
    "ollama": FakeOllama,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes", description=__doc__.splitlines()[0])
    parser.add_argument("provider", choices=sorted(FAKES))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--default", type=json.loads, help='behaviour spec, e.g. {"behaviour": "echo"}')
    args = parser.parse_args(argv)

    fake = FAKES[args.provider](port=args.port)
    if args.default is not None:
        fake.default = behaviour_from_spec(args.default)
    fake.extra_routes = control_routes(fake)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with fake:
        print(fake.url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
