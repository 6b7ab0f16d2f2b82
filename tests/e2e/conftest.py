"""Shared end-to-end fixtures: Trooper as a real ``python -m trooper serve`` process, and a
headless Chromium page that records what it must not do (``watched``; a test module may set
``VIEWPORT``)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM, CHROMIUM_ARGS, Watched
from tests.harness import DEFAULT_ENV
from tests.processes import REPO, TrooperProcess


@pytest.fixture
def trooper_process(tmp_path: Path) -> Iterator[Callable[..., TrooperProcess]]:
    """Start ``python -m trooper serve`` processes; each one still running at the end is killed."""
    started: list[TrooperProcess] = []
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)

    def start(wrap: tuple[str, ...] = (), cwd: Path = REPO, command: tuple[str, ...] | None = None, **env: str) -> TrooperProcess:
        """``wrap``: a command the server runs under (``prlimit --nofile=256 --``); ``command``:
        what runs instead of ``python -m trooper serve --port 0``."""
        server = TrooperProcess({**DEFAULT_ENV, **env}, home, wrap, cwd, command)
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
