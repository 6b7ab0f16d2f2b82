"""A turn the store could not commit is not acknowledged: the caller gets an error in its own
protocol's shape (a 500, an error event, the chat page's error), the server keeps serving, and
the next turn of the session is stored whole."""

from __future__ import annotations

import sqlite3

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text
from trooper.store import sqlite_writes
from trooper.store.records import TurnRecord

POISON = "this turn cannot be stored"


@pytest.fixture
def server(fake_ollama, make_trooper, monkeypatch):
    """A local-only Trooper whose store fails every turn write that holds ``POISON``."""
    real_add_turns = sqlite_writes.add_turns

    def add_turns(conn: sqlite3.Connection, turns: list[TurnRecord]) -> None:
        real_add_turns(conn, turns)
        if POISON in repr([turn.content for turn in turns]):
            raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_writes, "add_turns", add_turns)
    fake_ollama.default = reply_text("an answer")
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)


def stored_texts(server, session_id: str) -> list[str]:
    server.flush()
    return [t["text"] for t in httpx.get(f"{server.url}/sessions/{session_id}/transcript").json()["turns"]]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_caller(server, stream: bool) -> None:
    session = f"unstored-anthropic-{stream}"
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True,
                             default_headers={"X-Session-ID": session}) as client:
        ask = {"model": "claude-haiku-4-5", "max_tokens": 32}
        with pytest.raises(anthropic.APIError) as caught:
            if stream:
                with client.messages.stream(**ask, messages=[{"role": "user", "content": POISON}]) as answer:
                    answer.until_done()
            else:
                client.messages.create(**ask, messages=[{"role": "user", "content": POISON}])
        assert "could not store this turn" in str(caught.value)
        assert stored_texts(server, session) == [], "nothing of the failed turn was kept"
        history = [{"role": "user", "content": POISON.replace("cannot", "can")}]
        assert client.messages.create(**ask, messages=history).content[0].text == "an answer"
    assert stored_texts(server, session) == [POISON.replace("cannot", "can"), "an answer"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_openai_caller(server, stream: bool) -> None:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as client:
        with pytest.raises(openai.APIError) as caught:
            answer = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": POISON}], stream=stream)
            if stream:
                list(answer)
        assert "could not store this turn" in str(caught.value)
        assert client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}]).choices


def test_chat_page(server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        session = client.post("/api/chat/sessions").json()["id"]
        events = client.post(f"/api/chat/sessions/{session}/messages", json={"content": POISON}).text
        assert "event: error" in events and "could not store this turn" in events and "event: done" not in events
        assert stored_texts(server, session) == []
        events = client.post(f"/api/chat/sessions/{session}/messages", json={"content": "hello"}).text
        assert "event: done" in events
    assert stored_texts(server, session) == ["hello", "an answer"]
