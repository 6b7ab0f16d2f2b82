"""Slow connections cannot take Trooper down: a real ``trooper serve`` under a 256-file limit, 400
connections trickling their headers, and normal requests still answered within a second with a
quiet log. Before, ~1,000 such connections put the accept loop at 100% CPU and wrote a traceback
per attempt ("Too many open files"), and normal requests went unanswered."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import httpx

TRICKLERS = 400
FLOOD_SECONDS = 6.0
MAX_LOG_BYTES = 1_000_000


def trickle(host: str, port: int, stop: threading.Event, opened: list[socket.socket]) -> None:
    """Open connections and send their headers a byte at a time, never finishing them."""
    for _ in range(TRICKLERS):
        if stop.is_set():
            return
        try:
            sock = socket.create_connection((host, port), timeout=2)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            opened.append(sock)
        except OSError:
            pass  # refused or reset: what a flood gets
    while not stop.wait(0.5):
        for sock in list(opened):
            try:
                sock.send(b"a")
            except OSError:
                opened.remove(sock)  # evicted by the server
                try:  # the attacker comes back at once
                    fresh = socket.create_connection((host, port), timeout=2)
                    fresh.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                    opened.append(fresh)
                except OSError:
                    pass


def test_four_hundred_trickling_connections_under_256_files(trooper_process):
    server = trooper_process(wrap=("prlimit", "--nofile=256:256", "--"))
    address = urlsplit(server.url)
    stop = threading.Event()
    opened: list[socket.socket] = []
    flood = threading.Thread(target=trickle, args=(address.hostname, address.port, stop, opened), daemon=True)
    flood.start()
    latencies = []
    try:
        deadline = time.monotonic() + FLOOD_SECONDS
        time.sleep(1.0)  # let the flood reach the cap
        while time.monotonic() < deadline:
            started = time.monotonic()
            response = httpx.get(f"{server.url}/health", timeout=5)
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200
            time.sleep(0.3)
    finally:
        stop.set()
        flood.join(10)
        for sock in opened:
            sock.close()
    assert latencies and max(latencies) < 1.0, latencies
    assert server.process.poll() is None, "still serving"
    log = "".join(server.output)
    assert len(log.encode()) < MAX_LOG_BYTES
    assert "Traceback" not in log and "Too many open files" not in log, log[-2000:]
