"""In-process publish/subscribe of session changes, feeding the dashboard's Server-Sent Events."""

from __future__ import annotations

import asyncio
from typing import Any

#: A subscriber that stops reading loses its oldest updates instead of pinning memory.
QUEUE_LIMIT = 256


class LiveFeed:
    """Fan-out of small JSON-able updates (``{"type": "turn", "session_id": ...}``) to subscribers."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def publish(self, update: dict[str, Any]) -> None:
        """Never blocks: called from the request path."""
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(update)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
