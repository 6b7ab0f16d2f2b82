"""Restart safety with real processes: SIGTERM finishes the answers in flight and flushes the store;
SIGKILL under load leaves a consistent store from which every session continues."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.reliability.processes import FakeProcess, trooper_serve

WORDS = [f"word{i} " for i in range(12)]
ANSWER = "".join(WORDS)


@pytest.fixture
def slow_claude():
    fake = FakeProcess("anthropic", behaviour="reply_text", chunks=WORDS, chunk_delay=0.25)
    yield fake
    fake.stop()


def stored_turns(db: Path, session_id: str) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT role, content FROM turns WHERE session_id = ? ORDER BY branch, seq", (session_id,)
        ).fetchall()
    return [(role, "".join(b.get("text", "") for b in json.loads(content))) for role, content in rows]


def test_sigterm_finishes_the_stream_in_flight_and_flushes_the_store(slow_claude, tmp_path):
    db = tmp_path / "trooper.db"
    server = trooper_serve(db, slow_claude.remote.url + "/v1/messages")
    sdk = anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0)
    received: list[str] = []
    with sdk.messages.stream(
        model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "count slowly"}],
        extra_headers={"X-Session-ID": "s-sigterm", "X-Trooper-Route": "cloud"},
    ) as stream:
        for text in stream.text_stream:
            received.append(text)
            if len(received) == 2:
                server.signal(signal.SIGTERM)
        final = stream.get_final_message()
    assert "".join(received) == ANSWER and final.stop_reason == "end_turn"
    assert server.wait(20) == 0
    assert stored_turns(db, "s-sigterm") == [("user", "count slowly"), ("assistant", ANSWER)]


def test_sigkill_under_load_leaves_a_store_every_session_continues_from(tmp_path):
    fake = FakeProcess("anthropic", behaviour="echo", chunk_delay=0.01)
    db = tmp_path / "trooper.db"
    server = trooper_serve(db, fake.remote.url + "/v1/messages")
    histories: dict[str, list[dict[str, str]]] = {f"s-kill-{i}": [] for i in range(8)}
    stop = threading.Event()

    def converse(session_id: str) -> None:
        client = httpx.Client(base_url=server.url, timeout=10)
        turn = 0
        while not stop.is_set():
            question = {"role": "user", "content": f"{session_id} question {turn}"}
            try:
                response = client.post(
                    "/v1/messages", headers={"X-Session-ID": session_id, "X-Trooper-Route": "cloud"},
                    json={"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [*histories[session_id], question]},
                )
            except httpx.HTTPError:
                return  # killed mid-turn: the client never saw this answer
            if response.status_code != 200:
                return
            answer = response.json()["content"][0]["text"]
            histories[session_id] += [question, {"role": "assistant", "content": answer}]
            turn += 1

    threads = [threading.Thread(target=converse, args=(sid,)) for sid in histories]
    for thread in threads:
        thread.start()
    while sum(len(h) for h in histories.values()) < 80:
        stop.wait(0.05)
    server.signal(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(15)
    server.wait(10)

    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restarted = trooper_serve(db, fake.remote.url + "/v1/messages")
    try:
        with httpx.Client(base_url=restarted.url, timeout=10) as client:
            for session_id, history in histories.items():
                question = {"role": "user", "content": "and after the restart?"}
                response = client.post(
                    "/v1/messages", headers={"X-Session-ID": session_id, "X-Trooper-Route": "cloud"},
                    json={"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [*history, question]},
                )
                assert response.status_code == 200, response.text
                expected = [*((m["role"], m["content"]) for m in history), ("user", question["content"]),
                            ("assistant", response.json()["content"][0]["text"])]
                restarted_transcript = client.get(f"/sessions/{session_id}/transcript").json()["turns"]
                texts = [(t["role"], "".join(b.get("text", "") for b in t["content"])) for t in restarted_transcript]
                assert texts == expected, f"{session_id} lost or duplicated turns across the kill"
    finally:
        restarted.signal(signal.SIGTERM)
        restarted.wait(20)
        fake.stop()
