"""Shared end-to-end fixtures: Trooper as a real ``python -m trooper serve`` process, and a
headless Chromium page that records what it must not do (``watched``; a test module may set
``VIEWPORT``)."""

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
from typing import Callable, Iterator

import pytest
from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, Watched
from tests.harness import DEFAULT_ENV

REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"Trooper listening on (http://\S+)")
START_TIMEOUT = 30.0


class TrooperProcess:
    """``python -m trooper serve --port 0`` with a clean environment (under ``wrap`` if given, in
    ``cwd``, the repository by default), or ``command`` (deploy/Procfile's, say: the ``trooper``
    script of this Python's environment is first on its PATH); its URL is read from the banner."""

    def __init__(
        self, env: dict[str, str], home: Path, wrap: tuple[str, ...] = (), cwd: Path = REPO,
        command: tuple[str, ...] | None = None,
    ) -> None:
        clean = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONPATH": str(REPO),  # this checkout's trooper, from any working directory
            "HOME": str(home),  # ~/.trooper of the person running the tests is never touched
            "PYTHONUNBUFFERED": "1",
            "LANG": "C.UTF-8",
        }
        self.env = {**clean, **DEFAULT_ENV, **env}
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

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM (a graceful shutdown) and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> int:
        """SIGKILL: no shutdown code runs at all."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait(10)


@pytest.fixture
def trooper_process(tmp_path: Path) -> Iterator[Callable[..., TrooperProcess]]:
    """Start ``python -m trooper serve`` processes; each one still running at the end is killed."""
    started: list[TrooperProcess] = []
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def start(wrap: tuple[str, ...] = (), cwd: Path = REPO, command: tuple[str, ...] | None = None, **env: str) -> TrooperProcess:
        """``wrap``: a command the server runs under (``prlimit --nofile=256 --``); ``command``:
        what runs instead of ``python -m trooper serve --port 0``."""
        server = TrooperProcess(env, home, wrap, cwd, command)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def browser() -> Iterator:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def watched(browser, request) -> Iterator[Watched]:  # type: ignore[no-untyped-def]
    viewport = getattr(request.module, "VIEWPORT", {"width": 1360, "height": 900})
    context = browser.new_context(viewport=viewport)
    yield Watched(context.new_page())
    context.close()
