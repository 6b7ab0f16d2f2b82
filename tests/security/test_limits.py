"""Limits: prompt tokens, answers in flight (global and per session), and clients that stop reading."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from typing import Iterator

import httpx
import psutil
import pytest

from tests.fakes.behaviours import reply_text
from tests.fakes.remote import RemoteFake
from trooper.server import base

CLAUDE_KEY = "sk-ant-configured-key-0123456789abcdef"
ANTHROPIC = "/v1/messages"
OPENAI = "/v1/chat/completions"


def message(text: str = "hi", *, stream: bool = False) -> dict:
    return {"model": "claude-haiku-4-5", "max_tokens": 16, "stream": stream, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def claude(fake_anthropic, make_trooper):
    def start(**env: str):
        return make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, **env)

    fake_anthropic.default = reply_text("fine")
    return start


@pytest.mark.parametrize("path", [ANTHROPIC, OPENAI])
def test_prompts_over_the_token_limit_are_refused_before_anything_is_stored(claude, path):
    server = claude(TROOPER_MAX_REQUEST_TOKENS="500")
    with httpx.Client(base_url=server.url) as client:
        response = client.post(path, json=message("many words here " * 400))
        assert response.status_code == 400
        error = response.json()["error"]
        assert "prompt is too long" in error["message"] and "TROOPER_MAX_REQUEST_TOKENS" in error["message"]
        assert (response.json()["type"] == "error") if path == ANTHROPIC else ("code" in error)
        server.flush()
        assert client.get("/sessions").json()["sessions"] == []
        assert client.post(path, json=message("a short one")).status_code == 200


def test_answers_in_flight_are_limited_per_session_and_in_all(claude, fake_anthropic):
    fake_anthropic.default = reply_text("slow " * 20, chunk_delay=0.1)
    server = claude(TROOPER_MAX_STREAMS="2", TROOPER_MAX_SESSION_STREAMS="1", TROOPER_QUEUE_SECONDS="0.2")
    with httpx.Client(base_url=server.url, timeout=20) as client:
        with client.stream("POST", ANTHROPIC, json=message(stream=True), headers={"X-Session-ID": "s-a"}) as first:
            assert first.status_code == 200
            same_session = client.post(ANTHROPIC, json=message(), headers={"X-Session-ID": "s-a"})
            assert same_session.status_code == 429
            assert same_session.headers["retry-after"] == "1"
            assert "this session has 1 answer in progress already (TROOPER_MAX_SESSION_STREAMS)" in same_session.json()["error"]["message"]
            assert same_session.json()["error"]["type"] == "rate_limit_error"
            with client.stream("POST", OPENAI, json=message(stream=True), headers={"X-Session-ID": "s-b"}) as second:
                assert second.status_code == 200
                over = client.post(OPENAI, json=message(), headers={"X-Session-ID": "s-c"})
                assert over.status_code == 429 and over.headers["retry-after"] == "1"
                assert "TROOPER_MAX_STREAMS" in over.json()["error"]["message"]
                assert "param" in over.json()["error"], "the OpenAI error shape"
                second.read()
            first.read()
        assert client.post(OPENAI, json=message(), headers={"X-Session-ID": "s-c"}).status_code == 200
        assert client.post(ANTHROPIC, json=message(), headers={"X-Session-ID": "s-a"}).status_code == 200


def test_a_turn_over_the_session_limit_waits_briefly_for_room_instead_of_failing(claude, fake_anthropic):
    fake_anthropic.default = reply_text("slow " * 8, chunk_delay=0.1)
    server = claude(TROOPER_MAX_SESSION_STREAMS="1", TROOPER_QUEUE_SECONDS="5")
    with httpx.Client(base_url=server.url, timeout=20) as client:
        with client.stream("POST", ANTHROPIC, json=message(stream=True), headers={"X-Session-ID": "s-a"}) as first:
            assert first.status_code == 200
            waited = client.post(ANTHROPIC, json=message("again"), headers={"X-Session-ID": "s-a"})
            assert waited.status_code == 200, waited.text
            first.read()
    first_seen, second_seen = fake_anthropic.wait_for_requests(2)
    assert second_seen.arrived_at - first_seen.arrived_at >= 0.7, "the second turn started when the first ended"


def test_one_client_cannot_take_every_slot(claude, fake_anthropic):
    """64 unread streams, each in its own session, once locked every other caller out."""
    fake_anthropic.default = reply_text("slow " * 20, chunk_delay=0.1)
    server = claude(TROOPER_MAX_STREAMS="4", TROOPER_MAX_SESSION_STREAMS="4", TROOPER_QUEUE_SECONDS="0.2")
    greedy = {"x-api-key": "sk-ant-greedy-client-0123456789abcdefgh"}
    with httpx.Client(base_url=server.url, timeout=20) as client, contextlib.ExitStack() as held:
        for n in range(3):
            stream = held.enter_context(client.stream(
                "POST", ANTHROPIC, json=message(stream=True), headers={**greedy, "X-Session-ID": f"greedy-{n}"}))
            assert stream.status_code == 200
        fourth = client.post(ANTHROPIC, json=message(), headers={**greedy, "X-Session-ID": "greedy-3"})
        assert fourth.status_code == 429 and "this client" in fourth.json()["error"]["message"]
        other = client.post(ANTHROPIC, json=message(), headers={"x-api-key": "sk-ant-another-client-0123456789ab",
                                                                 "X-Session-ID": "other"})
        assert other.status_code == 200, "another client still finds room"


# ---------------------------------------------------------------- a client that stops reading

UPSTREAM_MB = 48


@pytest.fixture
def remote_anthropic() -> Iterator[RemoteFake]:
    """A fake in its own process, so the memory measured here is Trooper's, not the fake's."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "anthropic", "--port", "0"],
        stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert process.stdout is not None
    fake = RemoteFake(process.stdout.readline().strip())
    fake.set_default("reply_text", text="fine")
    yield fake
    fake.close()
    process.terminate()
    process.wait(10)


def test_a_client_that_stops_reading_cannot_pin_memory(remote_anthropic, make_trooper, monkeypatch):
    monkeypatch.setattr(base, "WRITE_TIMEOUT_SECONDS", 1.0)
    chunk = "x" * (64 * 1024 - 1) + " "
    remote_anthropic.enqueue("reply_text", chunks=[chunk] * (UPSTREAM_MB * 16))
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=remote_anthropic.url + "/v1/messages", TROOPER_MAX_SESSION_STREAMS="1",
        TROOPER_IDLE_TIMEOUT="30",
    )
    me = psutil.Process()
    before = me.memory_info().rss
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(("127.0.0.1", server.runtime.port))
    body = json.dumps(message(stream=True)).encode()
    reader.sendall(
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Session-ID: s-slow-reader\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    received = b""
    while len(received) < 256 * 1024:  # the answer is flowing; from here on nobody reads it
        received += reader.recv(65536)
    assert received.startswith(b"HTTP/1.1 200") and b"content_block_delta" in received
    peak = before
    deadline = time.monotonic() + 8
    with httpx.Client(base_url=server.url, timeout=10) as client:
        while time.monotonic() < deadline:
            peak = max(peak, me.memory_info().rss)
            # The session's one answer slot frees only when the stalled stream has been dropped.
            again = client.post(ANTHROPIC, json=message(), headers={"X-Session-ID": "s-slow-reader"})
            if again.status_code == 200:
                break
            assert again.status_code == 429
            time.sleep(0.2)
        else:
            pytest.fail("the stream to a client that stopped reading was never dropped")
    reader.close()
    growth_mb = (peak - before) / 2**20
    print(f'slow reader: RSS grew {growth_mb:.1f} MB')
    assert growth_mb < UPSTREAM_MB / 2, f"memory grew {growth_mb:.0f} MB for a {UPSTREAM_MB} MB answer nobody read"


def test_a_stalled_reader_frees_its_slot_once_its_answer_is_complete_upstream(remote_anthropic, make_trooper, monkeypatch):
    """The answer is read on while less than READ_AHEAD_BYTES waits unsent: when it is whole,
    its place among the answers in flight is free, though its client still has not read it (it is
    dropped later, after the write timeout). Before, the slot stayed taken until then."""
    monkeypatch.setattr(base, "READ_AHEAD_BYTES", 64 * 2**20)  # past the kernel's socket buffers
    chunk = "x" * (64 * 1024 - 1) + " "
    remote_anthropic.enqueue("reply_text", chunks=[chunk] * (16 * 16))  # 16 MB: more than the sockets hold
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=remote_anthropic.url + "/v1/messages", TROOPER_MAX_SESSION_STREAMS="1",
    )
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(("127.0.0.1", server.runtime.port))
    body = json.dumps(message(stream=True)).encode()
    reader.sendall(
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Session-ID: s-stalled\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    assert reader.recv(65536).startswith(b"HTTP/1.1 200")  # the answer has started; nobody reads on
    deadline = time.monotonic() + 10
    with httpx.Client(base_url=server.url, timeout=10) as client:
        while True:
            again = client.post(ANTHROPIC, json=message(), headers={"X-Session-ID": "s-stalled"})
            if again.status_code == 200:
                break
            assert again.status_code == 429 and time.monotonic() < deadline, "the slot was never freed"
            time.sleep(0.2)
    reader.close()
