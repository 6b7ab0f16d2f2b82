"""Store and DataFrames benchmark: write throughput, and frames over 100,000 stored turns.

    .venv/bin/python bench/store.py [--turns 100000] [--sessions 1000]

Measures: enqueue cost per turn on the request path, time for the writer to drain to disk,
``trooper.turns()`` from the store file and from a running server (JSON Table format),
and the session list. Results go in bench/README.md ("Store and DataFrames").
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application

import trooper.notebook.dataframes as tf
from trooper.config import Settings
from trooper.server.sessions_api import ROUTES
from trooper.server.state import AppState
from trooper.store import open_store
from trooper.store.records import SessionRecord, TurnRecord

PROVIDERS = ("ollama", "claude", "embedded", "openai")


def fill(path: str, sessions: int, turns: int) -> None:
    per_session = turns // sessions

    async def write() -> None:
        store = open_store(Settings(db_path=path))
        start = time.perf_counter()
        for s in range(sessions):
            session_id = f"session-{s:05d}"
            store.upsert_session(SessionRecord(session_id, "anthropic"))
            for seq in range(0, per_session, 2):  # one user turn and its answer, as the proxy records them
                store.add_turns(
                    [
                        TurnRecord(session_id, seq, "user", [{"type": "text", "text": f"question {seq} " * 8}], tokens_in=40),
                        TurnRecord(
                            session_id, seq + 1, "assistant", [{"type": "text", "text": f"answer {seq} " * 20}],
                            PROVIDERS[seq % 4], "model", 40, 100, 250.0,
                        ),
                    ]
                )
        enqueued = time.perf_counter() - start
        await store.flush()
        drained = time.perf_counter() - start
        await store.close()
        print(f"enqueue: {enqueued / turns * 1e6:.1f} µs per turn ({turns} turns)")
        print(f"written to disk: {drained:.2f} s total, {turns / drained:,.0f} turns/s")

    asyncio.run(write())


def timed(label: str, run: Callable[[], object], repeat: int = 5) -> None:
    """Wall time, and process CPU time (all threads; the server's too when it runs in-process),
    which other processes on shared cores do not inflate."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    size = f" ({len(result)} rows)" if hasattr(result, "__len__") else ""
    print(
        f"{label}: wall median {statistics.median(wall):.3f} s (best {min(wall):.3f}), "
        f"CPU median {statistics.median(cpu):.3f} s (best {min(cpu):.3f}){size}"
    )


def serve(path: str) -> tuple[str, Callable[[], None]]:
    ready = threading.Event()
    running: dict[str, object] = {}

    async def main() -> None:
        store = open_store(Settings(db_path=path))
        sock, port = bind_unused_port()
        server = HTTPServer(Application(ROUTES, trooper_state=AppState(Settings(), store)))
        server.add_sockets([sock])
        running.update(port=port, stop=asyncio.Event(), loop=asyncio.get_running_loop())
        ready.set()
        await running["stop"].wait()  # type: ignore[attr-defined]
        server.stop()
        await store.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    ready.wait()

    def stop() -> None:
        running["loop"].call_soon_threadsafe(running["stop"].set)  # type: ignore[attr-defined]
        thread.join()

    return f"http://127.0.0.1:{running['port']}", stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        fill(path, args.sessions, args.turns)
        print(f"file size: {Path(path).stat().st_size / 1e6:.1f} MB")
        tf.connect(path)
        timed("frames.turns() from the store file", tf.turns)
        timed("frames.sessions() from the store file", tf.sessions)
        url, stop = serve(path)
        try:
            tf.connect(url)
            timed("frames.turns() from a server (JSON Table)", tf.turns, repeat=3)
            timed("frames.sessions() from a server (JSON Table)", tf.sessions, repeat=3)
        finally:
            stop()


if __name__ == "__main__":
    main()
