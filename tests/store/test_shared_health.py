"""Provider health shared through PostgreSQL (trooper/store/postgres_health.py), two replicas'
stores on one database: a change recorded by one is adopted by the other, a probe's claim is held
by one at a time, and what is recorded under a claim is committed before the next one reads it."""

from __future__ import annotations

import asyncio

from trooper.config import Settings
from trooper.store import Store, open_store
from trooper.store.health import ProviderHealth, SharedHealth


async def started(url: str, label: str) -> tuple[SharedHealth, list[ProviderHealth], Store]:
    store = open_store(Settings(db_path=url))
    health = store.shared_health()
    assert health is not None
    heard: list[ProviderHealth] = []
    await health.start(label, heard.append, asyncio.get_running_loop())
    return health, heard, store


async def until(condition, timeout: float = 1.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within a second"
        await asyncio.sleep(0.01)


async def test_a_change_reaches_the_other_replica_and_one_claim_is_held_at_a_time(postgres_url: str) -> None:
    a, heard_by_a, store_a = await started(postgres_url, "a:1")
    b, heard_by_b, store_b = await started(postgres_url, "b:2")
    try:
        a.record("claude", "open")
        await until(lambda: [(h.provider, h.state) for h in heard_by_b] == [("claude", "open")])
        assert heard_by_a == [], "a replica does not hear its own changes back"

        async with a.claim_probe("claude") as first:
            assert first.held and first.latest is not None and first.latest.state == "open"
            async with b.claim_probe("claude") as meanwhile:
                assert not meanwhile.held, "another replica is probing it"
            async with b.claim_probe("gemini") as other:
                assert other.held and other.latest is None, "a claim is per provider"
            a.record("claude", "closed")  # the probe's result, recorded under the claim
        # A lets go of it in the background, once its result is written: B gets it then.
        deadline = asyncio.get_running_loop().time() + 1.0
        while True:
            async with b.claim_probe("claude") as after:
                if after.held:
                    break
            assert asyncio.get_running_loop().time() < deadline, "A's claim was not let go within a second"
            await asyncio.sleep(0.01)
        assert after.latest is not None
        assert after.latest.state == "closed" and after.latest.age < 1.0, "the result was committed before the claim was let go"
    finally:
        await store_a.close()
        await store_b.close()

    # A replica that starts later adopts what was recorded, with its age.
    c, heard_by_c, store_c = await started(postgres_url, "c:3")
    await store_c.close()
    assert [(h.provider, h.state) for h in heard_by_c] == [("claude", "closed")]


async def test_a_store_of_one_process_shares_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(Settings(db_path=str(tmp_path / "t.db")))
    assert store.shared_health() is None and not store.shared
    await store.close()
