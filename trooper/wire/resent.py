"""What a client resends unchanged on every turn (an agent's tools, what a response echoes), kept
once with its JSON text.

A Responses API response echoes its request's tools, and an agent offers the same tools on every
turn: serialising them again was most of encoding its response (20 function tools, 18 kB: 185
µs, where ``marshal`` takes 21). A value met lately is recognised by its ``marshal`` bytes, which
tell ``True``, ``1`` and ``1.0`` apart where ``==`` does not (their JSON differs), and the one kept
is given back with the JSON text made for it: the same bytes, made once. Being the same object,
later checks of the same tools can compare them by identity (``server/response_log.py``). What is
kept is never changed.
"""

from __future__ import annotations

import marshal
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

#: What is made of a value: its JSON text, or pieces of one.
T = TypeVar("T")


class Resent(Generic[T]):
    """The last ``size`` distinct values met, each with its JSON text (what ``encode`` makes of it)."""

    def __init__(self, encode: Callable[[Any], T], size: int) -> None:
        self._encode = encode
        self._size = size
        self._kept: OrderedDict[bytes, tuple[Any, T]] = OrderedDict()

    def get(self, value: Any) -> tuple[Any, T]:
        """``value``, or the identical one met before, and its JSON text. ``value`` is parsed JSON
        (or a tuple of such values)."""
        # Equal bytes are equal values of the same types. Its back-references follow reference
        # counts, which the same code path gives each request alike: at worst an equal value missed.
        key = marshal.dumps(value)
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.move_to_end(key)
            return kept
        kept = self._kept[key] = (value, self._encode(value))
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return kept
