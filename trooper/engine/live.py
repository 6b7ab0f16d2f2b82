"""In-process publish/subscribe of session changes, feeding the dashboard's Server-Sent Events.

Updates are coalesced on a short tick: everything published within ``TICK_SECONDS`` reaches each
subscriber as one batch, identical updates once. A proxied turn publishes several updates, so a
listener costs one write per tick instead of one per update, on the event loop the proxy uses;
the dashboard only needs to hear of a change within a second.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

TICK_SECONDS = 0.2
#: A subscriber that stops reading loses its oldest batches instead of pinning memory.
QUEUE_LIMIT = 64

#: One tick's updates, each encoded as a JSON text, in the order first published.
Batch = tuple[str, ...]


class LiveFeed:
    """Fan-out of small JSON-able updates (``{"type": "turn", "session_id": ...}``) to subscribers."""

    def __init__(self, tick: float = TICK_SECONDS) -> None:
        self._tick = tick
        self._subscribers: set[asyncio.Queue[Batch]] = set()
        #: The current tick's updates: encoded text -> None (a dict keeps the first-seen order).
        self._pending: dict[str, None] = {}
        self._delivery: asyncio.TimerHandle | None = None

    def subscribe(self) -> asyncio.Queue[Batch]:
        queue: asyncio.Queue[Batch] = asyncio.Queue(QUEUE_LIMIT)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Batch]) -> None:
        self._subscribers.discard(queue)

    def publish(self, update: dict[str, Any]) -> None:
        """Never blocks: called from the request path. Without subscribers it costs nothing."""
        if not self._subscribers:
            return
        self._pending[json.dumps(update, ensure_ascii=False, default=str)] = None
        if self._delivery is None:
            self._delivery = asyncio.get_running_loop().call_later(self._tick, self._deliver)

    def _deliver(self) -> None:
        batch: Batch = tuple(self._pending)
        self._pending.clear()
        self._delivery = None
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(batch)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
