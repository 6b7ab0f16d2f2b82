"""The live feed: updates of one tick reach every subscriber as one batch, identical ones once."""

from __future__ import annotations

import asyncio
import json

from trooper.engine.live import QUEUE_LIMIT, LiveFeed


async def test_a_tick_of_updates_arrives_as_one_deduplicated_batch() -> None:
    feed = LiveFeed(tick=0.05)
    first, second = feed.subscribe(), feed.subscribe()

    feed.publish({"type": "turn", "session_id": "a"})
    feed.publish({"type": "attempt", "session_id": "a"})
    feed.publish({"type": "turn", "session_id": "a"})  # the same change again: sent once
    feed.publish({"type": "turn", "session_id": "b", "text": "é"})

    expected = ('{"type": "turn", "session_id": "a"}', '{"type": "attempt", "session_id": "a"}',
                '{"type": "turn", "session_id": "b", "text": "é"}')
    assert await asyncio.wait_for(first.get(), 1) == expected
    assert await asyncio.wait_for(second.get(), 1) == expected
    assert first.empty() and second.empty()


async def test_the_next_tick_repeats_an_update_and_unsubscribed_queues_get_nothing() -> None:
    feed = LiveFeed(tick=0.01)
    kept, dropped = feed.subscribe(), feed.subscribe()
    feed.unsubscribe(dropped)

    for _ in range(2):
        feed.publish({"type": "turn", "session_id": "a"})
        assert [json.loads(u) for u in await asyncio.wait_for(kept.get(), 1)] == [{"type": "turn", "session_id": "a"}]

    assert dropped.empty() and feed.subscriber_count == 1


async def test_a_subscriber_that_stops_reading_loses_its_oldest_batches() -> None:
    feed = LiveFeed(tick=0.001)
    stalled = feed.subscribe()

    for number in range(QUEUE_LIMIT + 5):
        feed.publish({"type": "turn", "session_id": str(number)})
        await asyncio.sleep(0.003)

    assert stalled.qsize() == QUEUE_LIMIT
    assert json.loads(stalled.get_nowait()[0])["session_id"] != "0"


def test_publishing_without_subscribers_needs_no_event_loop() -> None:
    LiveFeed().publish({"type": "turn", "session_id": "a"})
