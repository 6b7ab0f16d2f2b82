"""Two ``trooper serve`` replicas on one PostgreSQL store behind a real nginx (tests/e2e/balancer.py),
reached with the official Anthropic SDK knowing only the balancer's address; the upstream a fake
Ollama."""

from __future__ import annotations

from typing import Callable

import httpx

from tests.e2e.balancer import SESSION, TOKEN, Client, expected, stored
from tests.e2e.balancer import balanced as balanced  # the fixture


def test_a_twenty_turn_session_alternating_replicas_is_stored_once_in_order(balanced) -> None:
    nginx, replicas = balanced
    client = Client(nginx.url)
    served_by = []
    for turn in range(20):
        answer, replica = client.ask(f"question {turn}", stream=turn % 2 == 1)  # streams through nginx too
        assert answer == f"local: question {turn}"
        served_by.append(replica)
    assert set(served_by) == {r.url.removeprefix("http://") for r in replicas}
    assert all(a != b for a, b in zip(served_by, served_by[1:])), f"round-robin: each turn on the other replica {served_by}"
    for replica in replicas:  # every acknowledged turn stored exactly once, in order, read the same on both
        assert stored(replica.url) == expected(client)
    listed = httpx.get(f"{nginx.url}/sessions", headers={"Authorization": f"Bearer {TOKEN}"}).json()["sessions"]
    assert [(s["id"], s["turn_count"]) for s in listed] == [(SESSION, 40)], "one session, no duplicate"


def test_a_replica_killed_mid_session_the_client_retries_onto_the_other(balanced) -> None:
    nginx, (first, second) = balanced
    client = Client(nginx.url, retries=2)
    for turn in range(4):
        client.ask(f"before {turn}", stream=False)
    assert second.kill() == -9  # SIGKILL: no shutdown code runs
    served_by: Callable[[int], str] = lambda turn: client.ask(f"after {turn}", stream=turn % 2 == 0)[1]
    assert {served_by(turn) for turn in range(6)} == {first.url.removeprefix("http://")}
    assert stored(first.url) == expected(client), "nothing acknowledged is missing, nothing twice"
