"""``trooper serve`` with every garbage collection recorded: the benchmarks' view of the collector.

Run: python bench/gc_probe.py LOG (working directory and PYTHONPATH: the checkout to serve)

Serves exactly as ``python -m trooper serve`` does, with a ``gc.callbacks`` hook that notes each
collection's generation, start (``time.monotonic``, one clock for every process on Linux, so a
benchmark can keep the collections of its own timed window), pause (wall clock: what a request
waits) and CPU time (the collector's own work, apart from the machine's load); on exit the collections
are written to LOG as JSON lines, which bench/common.py's ``collections_between`` reads back.
"""

from __future__ import annotations

import atexit
import gc
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any


def record_collections(log: Path) -> None:
    """Note every collection from now on; write them to ``log`` when the process ends. SIGUSR1
    runs a full collection and notes what it walked and how long it took, apart (``forced``)."""
    collections: list[dict[str, Any]] = []
    started: list[tuple[float, float]] = []
    forcing = False

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if forcing:
            return
        if phase == "start":
            started.append((time.monotonic(), time.thread_time()))
        elif started:
            begun, cpu = started.pop()
            collections.append({
                "generation": info["generation"], "start": begun, "pause": time.monotonic() - begun,
                "cpu": time.thread_time() - cpu, "collected": info["collected"],
            })

    def full_collection(signum: int, frame: object) -> None:
        nonlocal forcing
        tracked = len(gc.get_objects())
        forcing = True
        begun, cpu = time.monotonic(), time.thread_time()
        gc.collect()
        pause, cpu = time.monotonic() - begun, time.thread_time() - cpu
        forcing = False
        collections.append(
            {"forced": True, "start": begun, "pause": pause, "cpu": cpu, "tracked": tracked, "frozen": gc.get_freeze_count()}
        )

    def write() -> None:
        log.write_text("".join(json.dumps(row) + "\n" for row in collections))

    gc.callbacks.append(on_collection)
    signal.signal(signal.SIGUSR1, full_collection)
    atexit.register(write)


if __name__ == "__main__":
    # This script's folder (bench/, whose store.py or privacy.py would shadow modules) is not the
    # served checkout: that comes from PYTHONPATH.
    sys.path.pop(0)
    record_collections(Path(sys.argv[1]))
    from trooper.cli import main

    sys.exit(main(["serve"]))
