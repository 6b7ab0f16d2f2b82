"""Trooper as users run it: ``python -m trooper serve --port 0`` in its own process, with a clean
environment, its URL read from the banner and its output kept (``TrooperProcess``)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_LISTENING = re.compile(r"Trooper listening on (http://\S+)")
START_TIMEOUT = 30.0


class TrooperProcess:
    """``python -m trooper serve --port 0`` with ``env`` over a clean environment (under ``wrap``
    if given, in ``cwd``, the repository by default), or ``command`` (deploy/Procfile's, say: the
    ``trooper`` script of this Python's environment is first on its PATH); its URL is read from
    the banner. ``home`` is its HOME: ~/.trooper of the person running the tests is never touched."""

    def __init__(
        self, env: dict[str, str], home: Path, wrap: tuple[str, ...] = (), cwd: Path = REPO,
        command: tuple[str, ...] | None = None,
    ) -> None:
        clean = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(REPO),  # this checkout's trooper, from any working directory
            "HOME": str(home),
            "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
        }
        self.env = {**clean, **env}
        self.process = subprocess.Popen(
            [*wrap, *(command or (sys.executable, "-m", "trooper", "serve", "--port", "0"))],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self.output: list[str] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        threading.Thread(target=self._pump, name="trooper-process-output", daemon=True).start()
        self.url = self._wait_for_banner()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_banner(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            found = _LISTENING.search(line)
            if found:
                return found.group(1)
        self.kill()
        raise AssertionError(f"trooper serve did not start:\n{''.join(self.output)}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, number: signal.Signals) -> None:
        """Send ``number`` if it still runs (``wait`` for its exit)."""
        if self.process.poll() is None:
            self.process.send_signal(number)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM (a graceful shutdown, as a service manager stops it) and wait for the exit code."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> int:
        """SIGKILL: no shutdown code runs at all."""
        self.signal(signal.SIGKILL)
        return self.wait(10)
