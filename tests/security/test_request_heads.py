"""Request heads Tornado's parser refuses get an answer that says why, and the server keeps serving."""

from __future__ import annotations

import json
import socket

import httpx
import pytest


def exchange(port: int, head: bytes) -> bytes:
    """Send a raw request head and read everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def answer(raw: bytes) -> tuple[int, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"Connection: close" in head and b"application/json" in head
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1])
    assert len(body) == length, "one complete answer, nothing after it"
    return status, json.loads(body)


@pytest.mark.parametrize(
    "head, status, words",
    [
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 431, "64 KB"),
        (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431, "64 KB"),
        (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: one\r\n two\r\n\r\n", 400, "folded"),
        (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Nul: a\x00b\r\n\r\n", 400, "NUL"),
        (b"NOT A REQUEST LINE\r\n\r\n", 400, "request line"),
    ],
    ids=["100 KB path", "70 KB header", "obs-fold", "NUL", "bad request line"],
)
def test_a_refused_request_head_is_answered(make_trooper, head: bytes, status: int, words: str) -> None:
    server = make_trooper()
    got_status, body = answer(exchange(server.runtime.port, head))
    assert got_status == status
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert words in body["error"]["message"]
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200, "the server keeps serving"
