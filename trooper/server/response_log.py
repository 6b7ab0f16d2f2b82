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
from trooper.newest import Newest
from trooper.privacy.storage import StoreMask
from trooper.server.base import to_json
from trooper.store.base import Row, Store
from trooper.store.records import ResponseRecord

#: Places remembered; older responses are looked up in the store.
MAX_REMEMBERED = 4096
#: Sessions whose last kept tools are remembered masked (agents answered in turn, not all sessions).
MAX_TOOLS_REMEMBERED = 128


class ResponseLog:
    def __init__(self, store: Store, mask: StoreMask | None = None) -> None:
        self._store = store
        #: Private values are kept masked, as in the turns (``TROOPER_PRIVACY``).
        self._mask = mask
        self._places: Newest[str, TurnPlace] = Newest(MAX_REMEMBERED)
        #: Session → (the mask's ``learned`` then, its last kept tools, those tools masked).
        self._tools: OrderedDict[str, tuple[int, list[Any], list[Any]]] = OrderedDict()

    def keep(self, response_id: str, place: TurnPlace, body: dict[str, Any], text: str) -> None:
        """Keep a response (``body``, and ``text``, its JSON as sent); queued with its turn's
        writes, so the turn's commit covers it."""
        kept = body if self._mask is None else self._masked(self._mask, body, place.session_id)
        kept_text = text if kept is body else to_json(kept)  # most hold nothing to mask: sent as kept
        self._store.add_response(ResponseRecord(response_id, place.session_id, place.branch, place.seq, kept_text))
        self._places.put(response_id, place)

    def _masked(self, mask: StoreMask, body: dict[str, Any], session_id: str) -> dict[str, Any]:
        """``mask.data(body, skip=IDENTIFIER_KEYS)`` (ids left as they are: their random characters
        cost a scan each and hold nothing to mask), its ``tools`` taken from the session's last
        kept response while they are the same list and the mask has learned nothing since: an
        agent resends the same tools every turn, and walking them was most of keeping its response
        (≈ 0.75 ms for 20 function tools). The codec echoes the one list it keeps of tools it met
        before (``wire/resent.py``), so the same tools are the same object, compared by identity
        (``==`` would take ``1`` for ``true``). Key by key, in order, as ``mask.data`` walks them.
        ``body`` itself when the mask leaves all of it as it is (most responses): nothing is
        copied to find that out."""
        if not body.get("tools"):
            return mask.data(body, skip=IDENTIFIER_KEYS, share=True)
        keys = list(body)
        at = keys.index("tools")
        head, tail = {key: body[key] for key in keys[:at]}, {key: body[key] for key in keys[at + 1 :]}
        before = mask.data(head, skip=IDENTIFIER_KEYS, share=True)
        tools = self._masked_tools(mask, body["tools"], session_id)  # after what comes before, as in the whole walk
        after = mask.data(tail, skip=IDENTIFIER_KEYS, share=True)
        if before is head and tools is body["tools"] and after is tail:
            return body
        return {**before, "tools": tools, **after}

    def _masked_tools(self, mask: StoreMask, tools: Any, session_id: str) -> Any:
        last = self._tools.get(session_id)
        if last is not None and last[0] == mask.learned and last[1] is tools:
            self._tools.move_to_end(session_id)
            return last[2]
        learned = mask.learned  # read first: what masking these tools learns makes them stale too
        masked = mask.data(tools, skip=IDENTIFIER_KEYS, share=True)  # nothing masked: ``tools`` itself
        self._tools[session_id] = (learned, tools, masked)
        self._tools.move_to_end(session_id)
        while len(self._tools) > MAX_TOOLS_REMEMBERED:
            self._tools.popitem(last=False)
        return masked

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
