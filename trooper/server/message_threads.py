"""Claude's message threads (``thread`` in a Messages body, a beta the SDK's tool runner uses by
default): the server holds the conversation between turns, so the client sends only each turn's
new messages. Trooper holds them itself, as it holds every session: a threaded answer's id names
the place of the turn holding it, and ``{"type": "continue", "previous_message_id": …}`` puts the
conversation up to that place before the new messages. No upstream is sent ``thread``: each gets
the whole conversation, as without threads (Claude's prompt cache sees the same prefix).

The places live in memory, the newest ``MAX_REMEMBERED``: an id not held (after a restart, or on
another replica) is answered ``thread_not_found``, on which the SDK resends the whole
conversation under a new thread.
"""

from __future__ import annotations

from trooper.engine.sessions import TurnPlace
from trooper.errors import TrooperError
from trooper.newest import Newest

#: Threaded answers whose places are held; older ones are ``thread_not_found``.
MAX_REMEMBERED = 4096


class MessageThreads:
    def __init__(self) -> None:
        self._places: Newest[str, TurnPlace] = Newest(MAX_REMEMBERED)

    def keep(self, message_id: str, place: TurnPlace) -> None:
        """A threaded answer ``message_id`` is the turn at ``place``."""
        self._places.put(message_id, place)

    def holds(self, message_id: str) -> bool:
        return message_id in self._places

    def place(self, message_id: str) -> TurnPlace:
        """Where the answer a thread continues from is; ``thread_not_found`` when not held."""
        place = self._places.get(message_id)
        if place is None:
            raise TrooperError(
                404,
                f"thread: no thread Trooper holds has the message {message_id!r} (threads are kept in memory, "
                "so not after a restart): send the whole conversation under a new thread",
                "not_found_error",
                details={"error_code": "thread_not_found"},
            )
        return place
