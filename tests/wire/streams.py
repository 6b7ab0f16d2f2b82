"""Helpers for codec stream tests: feed bytes in small steps, fold the events into a response."""

from __future__ import annotations

from types import ModuleType
from typing import Iterable

from trooper.conversation import Response, StreamAccumulator, StreamEvent


def decode_in_steps(codec: ModuleType, raw: bytes, step: int = 1) -> list[StreamEvent]:
    """Decode ``raw`` with ``codec``'s stream decoder, ``step`` bytes at a time (frames split anywhere)."""
    decoder = codec.StreamDecoder()
    return [e for i in range(0, len(raw), step) for e in decoder.feed(raw[i : i + step])] + decoder.finish()


def accumulate(events: Iterable[StreamEvent]) -> Response:
    accumulator = StreamAccumulator()
    for event in events:
        accumulator.add(event)
    return accumulator.response()
