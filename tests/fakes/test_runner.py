"""``python -m tests.fakes`` runs a fake as its own process, scriptable over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.fakes.remote import RemoteFake, behaviour_from_spec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runner() -> Iterator[RemoteFake]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "anthropic", "--port", "0", "--default", '{"behaviour": "echo"}'],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    remote = RemoteFake(url)
    yield remote
    remote.close()
    process.terminate()
    assert process.wait(timeout=10) == 0


@pytest.fixture
def remote_anthropic(runner: RemoteFake) -> RemoteFake:
    runner.reset()
    return runner


def ask(remote: RemoteFake, text: str = "ping") -> httpx.Response:
    return httpx.post(remote.url + "/v1/messages", json={"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": text}]})


def test_prints_its_url_and_answers_with_the_default(remote_anthropic: RemoteFake) -> None:
    assert remote_anthropic.url.startswith("http://127.0.0.1:")
    assert ask(remote_anthropic, "hello").json()["content"][0]["text"] == "hello"


def test_is_scripted_and_inspected_over_http(remote_anthropic: RemoteFake) -> None:
    remote_anthropic.enqueue("http_error", status=429, retry_after=1)
    remote_anthropic.enqueue("reply_text", text="one two", fault={"kind": "error_event", "after": 1})
    limited = ask(remote_anthropic)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    assert ask(remote_anthropic).status_code == 529  # an in-stream error without a stream
    requests = remote_anthropic.requests()
    assert [r.path for r in requests] == ["/v1/messages", "/v1/messages"]  # control calls not recorded
    assert requests[0].json["messages"][0]["content"] == "ping"
    remote_anthropic.reset()
    assert remote_anthropic.requests() == []


def test_refuses_an_unknown_behaviour(remote_anthropic: RemoteFake) -> None:
    with pytest.raises(ValueError, match="unknown behaviour"):
        remote_anthropic.enqueue("format_disk")


def test_specs_build_tool_calls_and_faults() -> None:
    reply = behaviour_from_spec(
        {"behaviour": "reply_tool_calls", "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}], "fault": {"kind": "cut", "after": 1}}
    )
    assert reply.tool_calls[0].name == "get_weather"  # type: ignore[union-attr]
    assert reply.fault is not None and (reply.fault.kind, reply.fault.after) == ("cut", 1)  # type: ignore[union-attr]
