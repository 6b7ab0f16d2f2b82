"""Claude's message threads (``thread`` in a Messages body, a beta the SDK's tool runner uses by
default): the server holds the conversation between turns, so the client sends only each turn's
new messages. Trooper holds them itself, as it holds every session: a threaded answer's id names
the place of the turn holding it, and ``{"type": "continue", "previous_message_id": …}`` puts the
conversation up to that place before the new messages. No upstream is sent ``thread``: each gets
the whole conversation, as without threads (Claude's prompt cache sees the same prefix).

The places are kept in the store with the turn they name (its commit covers them), the newest
``MAX_REMEMBERED`` also in memory: a thread goes on after a restart and on any replica sharing the
store. An id the store does not hold is answered ``thread_not_found``, on which the SDK resends
the whole conversation under a new thread.
"""

from __future__ import annotations

from trooper.engine.sessions import TurnPlace
from trooper.errors import TrooperError
from trooper.newest import Newest
from trooper.store.base import Store
from trooper.store.records import ThreadRecord

#: Threaded answers whose places are held in memory; older ones are read from the store.
MAX_REMEMBERED = 4096


class MessageThreads:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._places: Newest[str, TurnPlace] = Newest(MAX_REMEMBERED)

    def keep(self, message_id: str, place: TurnPlace) -> None:
        """A threaded answer ``message_id`` is the turn at ``place``; queued with the turn's
        writes, so the turn's commit covers it."""
        self._store.add_thread(ThreadRecord(message_id, place.session_id, place.branch, place.seq))
        self._places.put(message_id, place)

    async def place(self, message_id: str) -> TurnPlace:
        """Where the answer a thread continues from is; ``thread_not_found`` when not held."""
        place = self._places.get(message_id)
        if place is not None:
            return place
        row = await self._store.get_thread(message_id)
        if row is None:
            raise TrooperError(
                404,
                f"thread: no thread Trooper holds has the message {message_id!r}: send the whole "
                "conversation under a new thread",
                "not_found_error",
                details={"error_code": "thread_not_found"},
            )
        return TurnPlace(row["session_id"], row["branch"], row["seq"])
