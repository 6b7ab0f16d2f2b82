"""Local networking for tests that start servers of their own: free ports, waiting until they answer."""

from __future__ import annotations

import socket
import time
from typing import Callable

import httpx


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.25) -> None:
    """Poll ``condition`` until it holds; a server that does not answer yet counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    raise TimeoutError("condition not met in time")
