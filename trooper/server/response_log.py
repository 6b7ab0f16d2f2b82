"""Responses API responses kept by id, each with the place of the turn holding its answer.

They live in the store (they survive restarts); the places of recent ones are also remembered
here, so a request continuing one (``previous_response_id``) reads nothing from the store. A place
is remembered when its response is queued with its turn: a turn whose commit then fails is not
acknowledged, so its id never reaches a client as an answer.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from trooper.conversation import IDENTIFIER_KEYS
from trooper.engine.sessions import TurnPlace
from trooper.privacy.storage import StoreMask
from trooper.server.base import to_json
from trooper.store.base import Row, Store
from trooper.store.records import ResponseRecord

#: Places remembered; older responses are looked up in the store.
MAX_REMEMBERED = 4096


class ResponseLog:
    def __init__(self, store: Store, mask: StoreMask | None = None) -> None:
        self._store = store
        #: Private values are kept masked, as in the turns (``TROOPER_PRIVACY``).
        self._mask = mask
        self._places: OrderedDict[str, TurnPlace] = OrderedDict()

    def keep(self, response_id: str, place: TurnPlace, body: dict[str, Any], text: str) -> None:
        """Keep a response (``body``, and ``text``, its JSON as sent); queued with its turn's
        writes, so the turn's commit covers it."""
        # ids left as they are: their random characters cost a scan each and hold nothing to mask
        kept = body if self._mask is None else self._mask.data(body, skip=IDENTIFIER_KEYS)
        kept_text = text if kept == body else to_json(kept)  # most hold nothing to mask: sent as kept
        self._store.add_response(ResponseRecord(response_id, place.session_id, place.branch, place.seq, kept_text))
        self._places[response_id] = place
        while len(self._places) > MAX_REMEMBERED:
            self._places.popitem(last=False)

    async def place(self, response_id: str) -> TurnPlace | None:
        """Where the answer of a kept response is, or None for an id not kept."""
        place = self._places.get(response_id)
        if place is not None:
            return place
        row = await self._store.get_response(response_id)
        return None if row is None else TurnPlace(row["session_id"], row["branch"], row["seq"])

    async def get(self, response_id: str) -> Row | None:
        """A kept response: its session and its ``body``, as its client received it (private values
        masked, as in the turns)."""
        return await self._store.get_response(response_id)
