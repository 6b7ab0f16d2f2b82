"""What the provider tests share: the upstream client Trooper uses, and addresses that fail."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from trooper.providers.upstream_client import open_upstream_client


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with open_upstream_client(connect_timeout=5.0, total_timeout=30.0) as session:
        yield session


@pytest.fixture
def refused_url() -> str:
    """An address where nothing listens: the connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/messages"


@pytest.fixture
def unanswered_url() -> Iterator[str]:
    """An address whose TCP handshake never completes: the listener's accept queue is already
    full (backlog 0, one connection waiting), so Linux drops further SYNs and connecting hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        with socket.create_connection(listener.getsockname()):
            yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1/messages"
