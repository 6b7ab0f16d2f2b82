"""Stream time budgets: first token, then idle gaps."""

from __future__ import annotations

import asyncio

import pytest

from trooper.conversation import BlockStart, MessageStart, TextBlock, TextDelta
from trooper.errors import UpstreamError
from trooper.routing.supervisor import supervise


async def paced(delays: list[float]):
    yield MessageStart("m", "x")
    yield BlockStart(0, TextBlock(""))
    for delay in delays:
        await asyncio.sleep(delay)
        yield TextDelta(0, "t")


async def collect(delays, first=0.2, idle=0.2):
    return [e async for e in supervise("p", paced(delays), first_token_timeout=first, idle_timeout=idle)]


async def test_a_healthy_stream_passes_through():
    assert len(await collect([0.01, 0.01, 0.01])) == 5


async def test_no_first_token_in_time():
    with pytest.raises(UpstreamError) as caught:
        await collect([0.5])
    assert caught.value.kind == "timeout" and "first token" in caught.value.message


async def test_a_stall_after_output():
    with pytest.raises(UpstreamError) as caught:
        await collect([0.01, 0.01, 0.5])
    assert caught.value.kind == "timeout" and "stalled" in caught.value.message


async def test_the_upstream_iterator_is_closed_when_the_consumer_stops():
    closed = asyncio.Event()

    async def endless():
        try:
            while True:
                yield TextDelta(0, "x")
                await asyncio.sleep(0)
        finally:
            closed.set()

    stream = supervise("p", endless(), first_token_timeout=1, idle_timeout=1)
    await stream.__anext__()
    await stream.aclose()
    assert closed.is_set()
