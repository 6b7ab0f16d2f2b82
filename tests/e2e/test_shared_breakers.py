"""Two replicas on one PostgreSQL share their providers' health: a provider failing on one is
skipped by the other within a second, one replica at a time probes it back, and a restarted
replica finds the breaker as it was left.

Both replicas are real ``trooper serve`` processes started from deploy/Procfile, the client the
official Anthropic SDK, the upstreams a fake Claude (answering 529 while it is "overloaded") and a
fake Ollama to fall back to.
"""

from __future__ import annotations

import time

import anthropic
import httpx
import psycopg
import pytest

from tests.e2e.balancer import start_replicas
from tests.fakes.behaviours import overloaded, reply_text

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
LOCAL_TEXT, CLOUD_TEXT = "Local answer here.", "Goroutines are cheap because the runtime multiplexes them."
COOLDOWN = 2.0


def ask(url: str) -> str:
    """One turn the cloud would answer; the provider that did."""
    with anthropic.Anthropic(base_url=url, api_key="local", max_retries=0) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=200,
            messages=[{"role": "user", "content": "explain why goroutines are better than threads"}],
        )
    return raw.headers["x-trooper-provider"]


def breaker(url: str) -> str | None:
    return httpx.get(url + "/health", timeout=5).json()["breakers"].get("claude")


def wait_for(condition, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``condition()`` held (polled every 20 ms); fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - started


def probes(fake_anthropic) -> list:  # type: ignore[no-untyped-def]
    """The recovery probes the fake Claude received: one-token requests, unlike any user's turn."""
    return [r for r in fake_anthropic.requests if r.json and r.json.get("max_tokens") == 1]


@pytest.fixture
def replica_env(fake_anthropic, fake_ollama, postgres_url) -> dict[str, str]:  # type: ignore[no-untyped-def]
    fake_ollama.default = reply_text(LOCAL_TEXT)
    fake_anthropic.default = overloaded()
    return {
        "TROOPER_DB": postgres_url, "CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": fake_anthropic.messages_url,
        "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_BREAKER_FAILURES": "1",
    }


def test_a_provider_failing_on_one_replica_is_skipped_by_the_other_and_probed_back_by_one(
    replica_env, fake_anthropic, trooper_process
):  # type: ignore[no-untyped-def]
    env = {**replica_env, "TROOPER_BREAKER_COOLDOWN": str(COOLDOWN), "AUTO_RECOVERY": "true"}
    a, b = start_replicas(trooper_process, env)
    assert ask(a.url) == "ollama", "a 529 from Claude falls back"
    opened = time.monotonic()
    assert breaker(a.url) == "open"
    assert wait_for(lambda: breaker(b.url) == "open", 1.0, "replica B opening the breaker A opened") < 1.0
    reached = len(fake_anthropic.requests)
    assert ask(b.url) == "ollama"
    assert len(fake_anthropic.requests) == reached, "replica B skipped Claude without trying it"
    assert time.monotonic() - opened < COOLDOWN, "checked before any probe could be due"

    # Still overloaded: each cool-down, one replica probes (and re-opens the breaker for both).
    time.sleep(2.6 * COOLDOWN)
    failed = [r.arrived_at for r in probes(fake_anthropic)]
    assert 1 <= len(failed) <= 3, failed
    gaps = [later - earlier for earlier, later in zip(failed, failed[1:])]
    assert all(gap > 0.8 * COOLDOWN for gap in gaps), f"two replicas probed within one cool-down: {gaps}"

    # Healthy again: exactly one probe brings it back, on both replicas.
    fake_anthropic.default = reply_text(CLOUD_TEXT)
    wait_for(lambda: breaker(a.url) == "closed" and breaker(b.url) == "closed", 2 * COOLDOWN + 2, "both breakers closing")
    time.sleep(COOLDOWN)  # a second probe, were one coming, would have come by now
    assert len(probes(fake_anthropic)) == len(failed) + 1, "exactly one recovery probe"
    assert ask(b.url) == "claude" and ask(a.url) == "claude"


def test_a_restarted_replica_finds_the_breaker_open(replica_env, fake_anthropic, trooper_process):  # type: ignore[no-untyped-def]
    env = {**replica_env, "AUTO_RECOVERY": "false"}  # the default 30 s cool-down: it stays open
    (a,) = start_replicas(trooper_process, env, count=1)
    assert ask(a.url) == "ollama"
    with psycopg.connect(replica_env["TROOPER_DB"], autocommit=True) as db:  # written off the request path, at once
        wait_for(lambda: db.execute("SELECT state FROM provider_health").fetchall() == [("open",)], 1.0, "the open state stored")
    assert a.kill() == -9  # no shutdown code runs
    fake_anthropic.requests.clear()
    (again,) = start_replicas(trooper_process, env, count=1)
    assert breaker(again.url) == "open"
    assert ask(again.url) == "ollama"
    assert fake_anthropic.requests == [], "the restarted replica skipped Claude without trying it"
