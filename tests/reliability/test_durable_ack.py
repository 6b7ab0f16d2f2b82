"""Durable acknowledgement: a turn a client has received is on disk, whatever kills the server.

24 and 64 clients (half of them streaming) talk to a real ``trooper serve`` until it is SIGKILLed; then
the SQLite file is read directly, before any restart. Every turn whose answer a client received
whole (a JSON body, or a stream up to its terminator) must be there: Trooper commits a turn
before its last byte goes out (docs/reliability.md). Before, a kill under this load lost up to
seconds of acknowledged turns, streams worst of all.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.processes import FakeProcess, trooper_serve

RUN_SECONDS = 4.0


def stored(db: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT session_id, role, content FROM turns").fetchall()
    return {(sid, role, "".join(b.get("text", "") for b in json.loads(content))) for sid, role, content in rows}


def converse(url: str, session_id: str, stream: bool, stop: threading.Event, acked: list[tuple[str, str, str]]) -> None:
    """Ask turn after turn; note each (question, answer) once the answer has arrived whole."""
    with httpx.Client(base_url=url, timeout=10) as client:
        turn = 0
        while not stop.is_set():
            question = f"{session_id} question {turn}"
            body = {"model": "claude-haiku-4-5", "max_tokens": 64, "stream": stream,
                    "messages": [{"role": "user", "content": question}]}
            headers = {"X-Session-ID": f"{session_id}-{turn}", "X-Trooper-Route": "cloud"}
            try:
                if stream:
                    with client.stream("POST", "/v1/messages", json=body, headers=headers) as response:
                        text = "".join(response.iter_text())
                    if "event: message_stop" not in text:
                        return
                    answer = "".join(
                        json.loads(line[6:])["delta"].get("text", "")
                        for line in text.splitlines()
                        if line.startswith("data: ") and '"content_block_delta"' in line
                    )
                else:
                    response = client.post("/v1/messages", json=body, headers=headers)
                    if response.status_code != 200:
                        return
                    answer = response.json()["content"][0]["text"]
            except httpx.HTTPError:
                return  # killed mid-turn: this answer never arrived
            acked.append((f"{session_id}-{turn}", question, answer))
            turn += 1


@pytest.mark.parametrize("clients", [24, 64])
def test_no_acknowledged_turn_is_lost_to_a_sigkill(tmp_path, clients):
    fake = FakeProcess("anthropic", behaviour="echo", chunk_delay=0.002)
    db = tmp_path / "trooper.db"
    server = trooper_serve(db, fake.remote.url + "/v1/messages")
    stop = threading.Event()
    acked: list[tuple[str, str, str]] = []
    threads = [
        threading.Thread(target=converse, args=(server.url, f"c{n}", n % 2 == 0, stop, acked), daemon=True)
        for n in range(clients)
    ]
    try:
        for thread in threads:
            thread.start()
        time.sleep(RUN_SECONDS)
        server.signal(signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(15)
        server.wait(10)
        turns = stored(db)
    finally:
        fake.stop()
    assert len(acked) > 100, "the load really ran"
    print(f"{clients} clients: {len(acked)} acknowledged turns before the kill, none lost")
    missing = [(sid, q) for sid, q, a in acked if (sid, "user", q) not in turns or (sid, "assistant", a) not in turns]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged turns lost, e.g. {missing[:3]}"
