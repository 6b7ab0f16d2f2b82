"""A chat-page session and an SDK session through nginx in front of two replicas on one
PostgreSQL store, each call answered by the other replica (nginx's round-robin): started on one,
continued, escalated and returned on the other, with the same SITREP, figures and
``X-Trooper-Session-Saved`` whichever replica answers. The upstreams: a fake Ollama (local) and a
fake Claude (escalations, and the cloud the local answers save tokens from)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.chat_sse import sse_events
from tests.e2e.balancer import TOKEN, start_replicas
from tests.fakes.behaviours import echo, reply_text
from tests.nginx import Nginx

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
CLOUD_TEXT = "From the cloud: size the pool to the cores, then measure."
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def balanced_with_cloud(trooper_process, fake_ollama, fake_anthropic, postgres_url, tmp_path) -> Iterator[tuple[Nginx, list[str]]]:  # type: ignore[no-untyped-def]
    fake_ollama.default = echo(lambda r: f"local: {r.last_user_text()}")
    fake_anthropic.default = reply_text(CLOUD_TEXT)
    env = {"TROOPER_DB": postgres_url, "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_TOKEN": TOKEN,
           "CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": fake_anthropic.messages_url}
    replicas = start_replicas(trooper_process, env)
    nginx = Nginx(tmp_path, [replica.url.removeprefix("http://") for replica in replicas])
    yield nginx, [replica.url for replica in replicas]
    nginx.stop()


class Balanced:
    """Calls through nginx, noting which replica answered each."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, headers=AUTH, timeout=30)
        self.served_by: list[str] = []

    def json(self, method: str, path: str) -> Any:
        response = self.http.request(method, path)
        assert response.status_code in (200, 201), response.text
        self._note(response)
        return response.json()

    def events(self, path: str, body: dict[str, str] | None = None) -> dict[str, dict]:
        with self.http.stream("POST", path, json=body or {}) as response:
            assert response.status_code == 200, response.read()
            self._note(response)
            return dict(sse_events(response))

    def _note(self, response: httpx.Response) -> None:
        self.served_by.append(response.headers["x-test-replica"].split(", ")[-1])


def test_a_chat_session_started_on_one_replica_is_continued_escalated_and_returned_on_the_other(balanced_with_cloud) -> None:  # type: ignore[no-untyped-def]
    nginx, _ = balanced_with_cloud
    calls = Balanced(nginx.url)
    chat = calls.json("POST", "/api/chat/sessions")["id"]  # replica A
    first = calls.events(f"/api/chat/sessions/{chat}/messages", {"content": "How big should my pool be?"})  # B
    assert first["done"]["provider"] == "ollama"
    seen = calls.json("GET", f"/api/chat/sessions/{chat}")  # A reads what B answered
    assert [m["text"] for m in seen["messages"]] == ["How big should my pool be?", "local: How big should my pool be?"]
    assert seen["sitrep"] == first["done"]["sitrep"] and seen["stats"] == first["done"]["stats"]

    escalated = calls.events(f"/api/chat/sessions/{chat}/escalate")  # B answers the question again from the cloud
    assert escalated["escalated"] == {"route": "cloud", "to": "claude"}
    assert escalated["done"]["provider"] == "claude" and escalated["done"]["route"] == "cloud"
    assert escalated["done"]["stats"]["escalations"] == 1
    seen = calls.json("GET", f"/api/chat/sessions/{chat}")  # A
    assert seen["route"] == "cloud" and seen["messages"][-1]["text"] == CLOUD_TEXT
    assert seen["sitrep"] == escalated["done"]["sitrep"] and seen["stats"] == escalated["done"]["stats"]
    assert [e["kind"] for e in seen["events"]] == ["escalated"]

    assert calls.json("POST", f"/api/chat/sessions/{chat}/return") == {"route": "local"}  # B
    after = calls.events(f"/api/chat/sessions/{chat}/messages", {"content": "And the queue size?"})  # A
    assert after["done"]["provider"] == "ollama" and after["done"]["route"] == "local"
    assert after["done"]["stats"]["escalations"] == 1
    seen = calls.json("GET", f"/api/chat/sessions/{chat}")  # B
    # The escalated answer follows the local one it replaces (the page shows both), each once.
    assert [m["role"] for m in seen["messages"]] == ["user", "assistant", "assistant", "user", "assistant"]
    assert seen["messages"][-2:] == [
        {**seen["messages"][-2], "text": "And the queue size?"}, {**seen["messages"][-1], "text": "local: And the queue size?"}
    ]
    assert seen["sitrep"] == after["done"]["sitrep"] and seen["stats"] == after["done"]["stats"]
    assert [e["kind"] for e in seen["events"]] == ["escalated", "returned"]

    assert all(a != b for a, b in zip(calls.served_by, calls.served_by[1:])), f"each call on the other replica: {calls.served_by}"
    listed = calls.json("GET", "/api/chat/sessions")
    assert [(s["id"], s["turn_count"]) for s in listed] == [(chat, 5)], "one session, stored once"


def test_session_saved_is_the_same_whichever_replica_answers(balanced_with_cloud) -> None:  # type: ignore[no-untyped-def]
    nginx, replicas = balanced_with_cloud
    sdk = anthropic.Anthropic(base_url=nginx.url, api_key=TOKEN, max_retries=0)
    messages: list[dict[str, str]] = []
    served_by, saved = [], []
    for turn in range(6):
        messages.append({"role": "user", "content": f"how many days in week {turn}"})  # a simple turn: local
        raw = sdk.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=100, messages=messages,
                                                    extra_headers={"X-Session-ID": "saved-across"})
        answer = raw.parse()
        assert raw.headers["x-trooper-provider"] == "ollama"
        messages.append({"role": "assistant", "content": answer.content[0].text})
        served_by.append(raw.headers["x-test-replica"].split(", ")[-1])
        saved.append(int(raw.headers["x-trooper-session-saved"].removesuffix(" tokens")))
        # What the session has saved so far, as the other replica reads it from the store.
        other = next(url for url in replicas if url.removeprefix("http://") != served_by[-1])
        assert httpx.get(f"{other}/sessions/saved-across", headers=AUTH).json()["tokens_saved"] == saved[-1]
    assert len(set(served_by)) == 2 and all(a != b for a, b in zip(served_by, served_by[1:]))
    assert all(earlier < later for earlier, later in zip(saved, saved[1:])), f"each turn adds to the session's figure: {saved}"
