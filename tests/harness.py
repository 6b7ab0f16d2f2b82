"""A real Trooper server for tests: the full runtime on 127.0.0.1, on its own event loop thread.

Tests talk to it only over HTTP (the official SDKs, httpx, a browser), exactly as users do.
``make_trooper(**env)`` takes the same environment variables a user sets.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable, Iterator

import pytest

from trooper.config import Settings

#: The embedded model is opt-in per test: loading it costs seconds.
DEFAULT_ENV = {
    "TROOPER_EMBEDDED": "false",
    "FALLBACK_URL": "http://127.0.0.1:9/api/chat",
    "TROOPER_DB": ":memory:",
    "TROOPER_ENV_FILE": "",  # servers started in a clean environment read no developer's .env
    "TROOPER_KEYS_FILE": "",  # ... nor their saved keys, and save none
    "TROOPER_RETRY_BACKOFF": "0.05",
    "TROOPER_FIRST_TOKEN_TIMEOUT": "5",
    "TROOPER_IDLE_TIMEOUT": "2",
    "TROOPER_PROVIDER_TIMEOUT": "5",
    "TROOPER_CONNECT_TIMEOUT": "2",
}


class TrooperThread:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="trooper-test-server", daemon=True)
        self.runtime: Any = None

    def start(self) -> TrooperThread:
        # Imported here so the fixtures load even while a part of the runtime is being changed.
        from trooper.server.runtime import Runtime

        self._thread.start()
        self.runtime = self.call(Runtime.start(self.settings, port=0))
        return self

    def call(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server's loop (e.g. ``store.flush()``) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    @property
    def url(self) -> str:
        assert self.runtime is not None
        return f"http://127.0.0.1:{self.runtime.port}"

    def flush(self) -> None:
        assert self.runtime is not None
        self.call(self.runtime.store.flush())

    def stop(self) -> None:
        """Stop the server (a test may, to restart on the same store; the fixture then need not)."""
        if self.loop.is_closed():
            return
        if self.runtime is not None:
            self.call(self.runtime.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def settings_from(env: dict[str, str]) -> Settings:
    return Settings.from_env({**DEFAULT_ENV, **env})


@pytest.fixture
def make_trooper() -> Iterator[Callable[..., TrooperThread]]:
    started: list[TrooperThread] = []

    def start(**env: str) -> TrooperThread:
        server = TrooperThread(settings_from(env)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
