"""Finding the shared Trooper: TROOPER_URL, an already running local one, or a detached new one."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Iterator

import pytest

from tests.harness import DEFAULT_ENV
from tests.net import free_port
from trooper.config import Settings
from trooper.notebook import connection
from trooper.notebook.connection import ServerUnavailable, find_or_start, probe


@pytest.fixture
def started_pids() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def test_probe(chat_setup):
    assert probe(chat_setup.url)["status"] == "ok"
    assert probe("http://127.0.0.1:9") is None


def test_trooper_url_wins(chat_setup):
    server = find_or_start(Settings(url=chat_setup.url, port=9))
    assert server.url == chat_setup.url and server.pid is None


def test_unreachable_trooper_url_is_a_clear_error():
    with pytest.raises(ServerUnavailable, match="TROOPER_URL is http://127.0.0.1:9"):
        find_or_start(Settings(url="http://127.0.0.1:9"))


def test_attaches_to_the_server_already_on_the_port(chat_setup):
    port = int(chat_setup.url.rsplit(":", 1)[1])
    server = find_or_start(Settings(port=port))
    assert server.url == f"http://127.0.0.1:{port}" and server.pid is None


def test_starts_a_detached_server_that_the_next_kernel_shares(fake_ollama, tmp_path: Path, monkeypatch, started_pids):
    port = free_port()
    for name, value in {**DEFAULT_ENV, "FALLBACK_URL": fake_ollama.api_chat_url,
                        "TROOPER_DB": str(tmp_path / "trooper.db")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(connection, "LOG_DIR", tmp_path)
    settings = Settings.from_env().with_overrides(port=port)

    server = find_or_start(settings, start_timeout=60)
    assert server.pid is not None
    started_pids.append(server.pid)
    assert os.getsid(server.pid) != os.getsid(0), "its own session: a kernel restart does not stop it"
    assert probe(server.url)["local"]["tier"] == "ollama"
    assert (tmp_path / f"server-{port}.log").exists()

    again = find_or_start(settings)
    assert again.url == server.url and again.pid is None, "the second kernel attaches"


def test_a_server_that_cannot_start_says_why(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TROOPER_BIND", "0.0.0.0")  # refused without TROOPER_TOKEN: the process exits at once
    monkeypatch.delenv("TROOPER_TOKEN", raising=False)
    monkeypatch.setattr(connection, "LOG_DIR", tmp_path)
    with pytest.raises(ServerUnavailable, match="(?s)exited with code 2.*refusing to bind 0.0.0.0"):
        find_or_start(Settings(port=free_port()), start_timeout=30)
