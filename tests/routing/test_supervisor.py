"""Stream time budgets: first token, then idle gaps."""

from __future__ import annotations

import asyncio

import pytest

from trooper.conversation import BlockStart, MessageStart, TextBlock, TextDelta
from trooper.errors import UpstreamError
from trooper.routing.supervisor import Slow, supervise, within


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


async def test_a_timeout_leaves_the_consumer_task_usable():
    # The budget is enforced by cancelling the waiting task; the timeout must not leak that.
    with pytest.raises(UpstreamError):
        await collect([0.5], first=0.05)
    await asyncio.sleep(0.01)  # a cancellation left pending would raise here
    task = asyncio.current_task()
    assert getattr(task, "cancelling", lambda: 0)() == 0  # Python 3.11+ counts cancellations


async def test_a_shorter_idle_budget_is_enforced_after_a_longer_first_token_budget():
    with pytest.raises(UpstreamError) as caught:
        await collect([0.01, 0.3], first=5, idle=0.05)
    assert "stalled" in caught.value.message and "0.05" in caught.value.message


async def test_a_consumer_cancelled_from_outside_is_cancelled_not_timed_out():
    task = asyncio.ensure_future(collect([5]))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_slow_call_is_made_once_when_no_content_has_come_by_then():
    calls: list[str] = []
    slow = Slow(0.05, lambda: calls.append("slow"))
    events = [e async for e in supervise("p", paced([0.2, 0.01]), first_token_timeout=1, idle_timeout=1, slow=slow)]
    assert len(events) == 4 and calls == ["slow"], "made once, and the stream went on"


async def test_no_slow_call_once_content_has_come():
    calls: list[str] = []
    slow = Slow(0.1, lambda: calls.append("slow"))
    events = [e async for e in supervise("p", paced([0.01, 0.15, 0.01]), first_token_timeout=1, idle_timeout=1, slow=slow)]
    assert len(events) == 5 and calls == []


async def test_within_gives_the_answer_or_a_timeout_and_makes_the_slow_call():
    calls: list[str] = []
    assert await within("p", asyncio.sleep(0.1, "answer"), 1, slow=Slow(0.02, lambda: calls.append("slow"))) == "answer"
    assert calls == ["slow"]
    with pytest.raises(UpstreamError) as caught:
        await within("p", asyncio.sleep(5), 0.05)
    assert caught.value.kind == "timeout" and "no answer within 0.05 s" in caught.value.message
    await asyncio.sleep(0.01)  # a cancellation left pending would raise here
    assert getattr(asyncio.current_task(), "cancelling", lambda: 0)() == 0
