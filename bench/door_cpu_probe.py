"""``trooper serve`` with each front-door request's event-loop CPU recorded: ``bench/door_cpu.py``'s view.

Run: python bench/door_cpu_probe.py RECORD (working directory and PYTHONPATH: the checkout to serve)

Serves exactly as ``python -m trooper serve`` does; the main thread's CPU time (``thread_time``)
from the moment a front door's request is prepared to its finish is kept by handler class.
SIGUSR1 forgets what was kept (the warm-up); SIGUSR2 writes it to RECORD as JSON.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any


def record_requests(record: Path) -> None:
    from trooper.server.proxy import FrontDoor

    kept: defaultdict[str, list[int]] = defaultdict(list)
    started: dict[int, int] = {}
    prepare, on_finish = FrontDoor.prepare, FrontDoor.on_finish

    def timed_prepare(handler: Any) -> Any:
        started[id(handler)] = time.thread_time_ns()
        return prepare(handler)

    def timed_finish(handler: Any) -> None:
        on_finish(handler)
        begun = started.pop(id(handler), None)
        if begun is not None:
            kept[type(handler).__name__].append(time.thread_time_ns() - begun)

    FrontDoor.prepare, FrontDoor.on_finish = timed_prepare, timed_finish  # type: ignore[method-assign]
    signal.signal(signal.SIGUSR1, lambda *_: kept.clear())
    signal.signal(signal.SIGUSR2, lambda *_: record.write_text(json.dumps(kept)))


if __name__ == "__main__":
    # This script's folder (bench/, whose store.py or privacy.py would shadow modules) is not the
    # served checkout: that comes from PYTHONPATH.
    sys.path.pop(0)
    record_requests(Path(sys.argv[1]))
    from trooper.cli import main

    sys.exit(main(["serve"]))
