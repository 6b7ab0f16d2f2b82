"""Two Trooper replicas on one PostgreSQL store: what one serves, the other shows live and serves too.

Both are real servers (``make_trooper``: the full runtime, each with its own store connections),
the client the official Anthropic SDK, the upstream a fake Ollama.
"""

from __future__ import annotations

import json
import queue
import threading
import time

import anthropic
import httpx

from tests.fakes.behaviours import echo

SESSION = "replicated"


def live_updates(url: str, into: queue.SimpleQueue[dict], connected: threading.Event, stop: threading.Event) -> None:
    """Read ``/api/live`` of ``url`` until ``stop``: every update goes to ``into``."""
    with httpx.Client(timeout=httpx.Timeout(10, read=1)) as client, client.stream("GET", url + "/api/live") as response:
        lines = response.iter_lines()
        while not stop.is_set():
            try:
                line = next(lines)
            except httpx.ReadTimeout:
                continue
            if line.startswith(": connected"):
                connected.set()
            elif line.startswith("data: "):
                into.put(json.loads(line[6:]))


def ask(url: str, messages: list[dict[str, str]]) -> str:
    with anthropic.Anthropic(base_url=url, api_key="local", max_retries=0) as client:
        message = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=messages,
                                         extra_headers={"X-Session-ID": SESSION})
    return "".join(block.text for block in message.content if block.type == "text")


def test_a_turn_served_by_one_replica_shows_live_on_the_other_within_a_second(make_trooper, fake_ollama, postgres_url):
    fake_ollama.default = echo(lambda r: f"local: {r.last_user_text()}")
    env = {"TROOPER_DB": postgres_url, "FALLBACK_URL": fake_ollama.api_chat_url}
    a, b = make_trooper(**env), make_trooper(**env)
    updates: queue.SimpleQueue[dict] = queue.SimpleQueue()
    connected, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(target=live_updates, args=(a.url, updates, connected, stop), daemon=True)
    watcher.start()
    try:
        assert connected.wait(10), "replica A's live feed did not open"
        history = [{"role": "user", "content": "how many days in a week"}]
        served = time.monotonic()
        history.append({"role": "assistant", "content": ask(b.url, history)})  # replica B answers
        seen: set[str] = set()
        while "turn" not in seen:
            remaining = served + 1.0 - time.monotonic()
            assert remaining > 0, f"replica A heard no turn of B's within a second (heard: {sorted(seen)})"
            try:
                update = updates.get(timeout=remaining)
            except queue.Empty:
                continue
            if update.get("session_id") == SESSION:
                seen.add(update["type"])
    finally:
        stop.set()
        watcher.join(5)

    # Replica A reads what B stored, and continues the session from the resent history: once each.
    assert [t["role"] for t in httpx.get(f"{a.url}/sessions/{SESSION}/transcript").json()["turns"]] == ["user", "assistant"]
    history.append({"role": "user", "content": "and in a year"})
    assert ask(a.url, history) == "local: and in a year"
    b.flush()
    a.flush()
    turns = httpx.get(f"{b.url}/sessions/{SESSION}/transcript").json()["turns"]
    assert [(t["seq"], t["role"]) for t in turns] == [(0, "user"), (1, "assistant"), (2, "user"), (3, "assistant")]
    assert [s["id"] for s in httpx.get(f"{b.url}/sessions").json()["sessions"]] == [SESSION]
