"""Session store end to end: what the SDKs and the chat API did lands in the store, the JSON API
and the DataFrames with the right values, survives a restart, and survives SIGKILL; on each kind
of store (a SQLite file, a PostgreSQL database: the same values from both).

Trooper runs as a real server (in a thread, or as ``python -m trooper serve`` processes on a
store); Claude and Ollama are fake HTTP upstreams.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anthropic
import httpx
import pandas as pd
import pytest

import trooper.frames as tf
from tests.fakes.behaviours import echo, out_of_credit, reply_text
from tests.postgres import PASSWORD
from trooper.store import store_label

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
OLLAMA_MODEL = "llama3.1:8b"
SID = "store-e2e-1"

SIMPLE = "how many days in a week"
SIMPLE_ANSWER = "Seven days."
CLOUD = "explain why goroutines are cheaper than threads"
CLOUD_ANSWER = "Goroutines start with a 2 KB stack and the Go runtime multiplexes them onto few threads."
FALLBACK = "explain how the go scheduler parks a goroutine"
FALLBACK_ANSWER = "It moves the goroutine to a wait queue and runs another one."
THANKS = "thanks"
THANKS_ANSWER = "You are welcome."


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True)


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


class Conversation:
    """A stateless client: every turn resends the whole history, as the SDKs are used."""

    def __init__(self, url: str, session_id: str) -> None:
        self.url = url
        self.session_id = session_id
        self.messages: list[dict[str, str]] = []

    def ask(self, text: str, *, stream: bool = False) -> tuple[str, httpx.Headers]:
        self.messages.append({"role": "user", "content": text})
        headers = {"X-Session-ID": self.session_id}
        with sdk(self.url) as client:
            if stream:
                with client.messages.stream(
                    model="claude-haiku-4-5", max_tokens=200, messages=self.messages, extra_headers=headers
                ) as s:
                    message, response_headers = s.get_final_message(), s.response.headers
            else:
                raw = client.messages.with_raw_response.create(
                    model="claude-haiku-4-5", max_tokens=200, messages=self.messages, extra_headers=headers
                )
                message, response_headers = raw.parse(), raw.headers
        answer = text_of(message)
        self.messages.append({"role": "assistant", "content": answer})
        return answer, response_headers


def chat_turn(client: httpx.Client, path: str, body: dict | None = None) -> dict:
    """One chat API turn (Server-Sent Events); returns the ``done`` event's data."""
    events = []
    with client.stream("POST", path, json=body or {}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event: "):
                events.append([line[7:], None])
            elif line.startswith("data: ") and events:
                events[-1][1] = json.loads(line[6:])
    assert events and events[-1][0] == "done", events
    return events[-1][1]


def ollama_chats(fake) -> list:
    return [r for r in fake.requests if r.path == "/api/chat"]


def get(url: str, path: str, **params: str) -> Any:
    response = httpx.get(url + path, params=params, timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def wait_for_sitrep(url: str, session_id: str, turn_count: int, timeout: float = 5.0) -> list[dict]:
    """SITREPs are computed off the request path; wait until the one for ``turn_count`` is stored."""
    deadline = time.monotonic() + timeout
    while True:
        sitreps = get(url, f"/sessions/{session_id}/sitreps")["sitreps"]
        if sitreps and sitreps[-1]["turn_count"] == turn_count:
            return sitreps
        assert time.monotonic() < deadline, f"no SITREP for {turn_count} turns: {sitreps}"
        time.sleep(0.05)


def transcript(url: str, session_id: str) -> list[dict]:
    return get(url, f"/sessions/{session_id}/transcript")["turns"]


def turn_texts(turns: list[dict]) -> list[tuple[str, str]]:
    return [(t["role"], "".join(b.get("text", "") for b in t["content"])) for t in turns]


# ---------------------------------------------------------------- one scripted multi-provider session


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> str:
    """The ``TROOPER_DB`` of a store of each kind: a SQLite file, a PostgreSQL database."""
    return request.getfixturevalue("postgres_url") if request.param == "postgresql" else str(tmp_path / "trooper.db")


@pytest.fixture
def claude_and_ollama(fake_anthropic, fake_ollama, make_trooper, db):
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY,
        CLAUDE_URL=fake_anthropic.messages_url,
        FALLBACK_URL=fake_ollama.api_chat_url,
        TROOPER_DB=db,
    )
    return server, fake_anthropic, fake_ollama


def test_a_scripted_session_lands_in_the_store_api_and_frames(claude_and_ollama, monkeypatch):
    server, claude, ollama = claude_and_ollama
    url = server.url
    talk = Conversation(url, SID)

    # 1. a simple turn: Ollama answers, the cloud is not asked
    ollama.enqueue(reply_text(SIMPLE_ANSWER))
    answer, headers = talk.ask(SIMPLE)
    assert answer == SIMPLE_ANSWER
    assert headers["x-trooper-provider"] == "ollama"
    assert headers["x-trooper-decision"] == "ollama (simple turn) | cloud skipped"
    assert claude.requests == []

    # 2. a cloud turn, streamed: Claude answers and receives the whole history
    claude.enqueue(reply_text(CLOUD_ANSWER))
    answer, headers = talk.ask(CLOUD, stream=True)
    assert answer == CLOUD_ANSWER and headers["x-trooper-provider"] == "claude"
    assert [m["role"] for m in claude.requests[-1].messages] == ["user", "assistant", "user"]

    # 3. Claude is out of credit: the same turn falls back to Ollama
    claude.enqueue(out_of_credit())
    ollama.enqueue(reply_text(FALLBACK_ANSWER))
    answer, headers = talk.ask(FALLBACK)
    assert answer == FALLBACK_ANSWER
    assert headers["x-trooper-provider"] == "ollama"
    assert headers["x-trooper-decision"] == "ollama (fallback: credit_balance)"
    assert len(claude.requests) == 2, "a credit error is not retried"
    server.flush()
    assert len(transcript(url, SID)) == 6

    # 4. the same history resent with one new turn adds exactly that turn and its answer
    ollama.enqueue(reply_text(THANKS_ANSWER))
    talk.ask(THANKS)

    # 5. a chat session: a local answer, then Escalate to Claude
    with httpx.Client(base_url=url + "/api/chat", timeout=30) as chat:
        chat_id = chat.post("/sessions").json()["id"]
        ollama.enqueue(reply_text("Hi! What are you working on?"))
        assert chat_turn(chat, f"/sessions/{chat_id}/messages", {"content": "hello there"})["provider"] == "ollama"
        claude.enqueue(reply_text("Claude here, with the whole conversation."))
        assert chat_turn(chat, f"/sessions/{chat_id}/escalate")["provider"] == "claude"

    server.flush()
    wait_for_sitrep(url, SID, 8)
    wait_for_sitrep(url, chat_id, 3)
    server.flush()

    # ---------------------------------------------------------- JSON API
    turns = transcript(url, SID)
    assert turn_texts(turns) == [
        ("user", SIMPLE), ("assistant", SIMPLE_ANSWER),
        ("user", CLOUD), ("assistant", CLOUD_ANSWER),
        ("user", FALLBACK), ("assistant", FALLBACK_ANSWER),
        ("user", THANKS), ("assistant", THANKS_ANSWER),
    ]  # fmt: skip
    assert [t["seq"] for t in turns] == list(range(8)) and {t["branch"] for t in turns} == {0}
    assert [t["provider"] for t in turns] == ["", "ollama", "", "claude", "", "ollama", "", "ollama"]
    claude_model = claude.requests[0].json["model"]
    assert [t["model"] for t in turns if t["role"] == "assistant"] == [OLLAMA_MODEL, claude_model, OLLAMA_MODEL, OLLAMA_MODEL]
    for turn in turns:
        if turn["role"] == "user":
            assert turn["tokens_in"] > 0, turn
        else:
            assert turn["tokens_in"] > 0 and turn["tokens_out"] > 0 and turn["latency_ms"] > 0, turn

    attempts = get(url, f"/sessions/{SID}/attempts")["attempts"]
    assert [(a["provider"], a["status"], a["outcome"], a["error_class"]) for a in attempts] == [
        ("ollama", 200, "ok", ""),
        ("claude", 200, "ok", ""),
        ("claude", 400, "error", "credit_balance"),
        ("ollama", 200, "ok", ""),
        ("ollama", 200, "ok", ""),
    ]
    assert [a["model"] for a in attempts] == [OLLAMA_MODEL, claude_model, claude_model, OLLAMA_MODEL, OLLAMA_MODEL]
    for attempt in attempts:
        if attempt["outcome"] == "ok":
            assert attempt["tokens_in"] > 0 and attempt["tokens_out"] > 0, attempt
        assert attempt["total_ms"] > 0
    triggers = [a["trigger"] for a in attempts]
    assert (triggers[0], triggers[4]) == ("simple turn", "simple turn") and triggers[3].startswith("fallback")
    assert triggers[1] == triggers[2] != "simple turn", "a retry of the cloud turn keeps its trigger"

    events = get(url, f"/sessions/{SID}/events")["events"]
    assert [(e["kind"], e["detail"]) for e in events] == [
        ("fallback", {"from": "claude", "to": "ollama", "error": "credit_balance"})
    ]

    summaries = {s["id"]: s for s in get(url, "/sessions")["sessions"]}
    assert set(summaries) == {SID, chat_id}
    proxy = summaries[SID]
    assert (proxy["source"], proxy["route"], proxy["branch"], proxy["turn_count"]) == ("anthropic", "local", 0, 8)
    assert proxy["providers"] == {"ollama": 3, "claude": 1}
    assert (proxy["fallbacks"], proxy["escalations"]) == (1, 0)
    local_tokens = sum(t["tokens_in"] + t["tokens_out"] for t in turns if t["provider"] == "ollama")
    assert proxy["tokens_saved"] == local_tokens > 0
    detail = get(url, f"/sessions/{SID}")
    assert detail["id"] == SID and detail["turn_count"] == 8 and detail["sitrep"]["turn_count"] == 8

    chat_summary = summaries[chat_id]
    assert (chat_summary["source"], chat_summary["route"]) == ("chat", "cloud")
    assert chat_summary["providers"] == {"ollama": 1, "claude": 1} and chat_summary["escalations"] == 1
    chat_attempts = get(url, f"/sessions/{chat_id}/attempts")["attempts"]
    assert [(a["provider"], a["outcome"]) for a in chat_attempts] == [("ollama", "ok"), ("claude", "ok")]
    assert chat_attempts[1]["trigger"] == "escalated"
    assert [e["kind"] for e in get(url, f"/sessions/{chat_id}/events")["events"]] == ["escalated"]
    assert [t["role"] for t in transcript(url, chat_id)] == ["user", "assistant", "assistant"]

    sitrep = get(url, f"/sitrep/{SID}")
    assert sitrep["session_id"] == SID and sitrep["turn_count"] == 8
    assert sitrep["intent"] == detail["sitrep"]["intent"] == proxy["intent"]
    recovery = get(url, f"/recovery/{SID}")
    assert recovery["session_id"] == SID and recovery["resume_from"] == 1
    assert [(m["role"], m["content"]) for m in recovery["context"]] == turn_texts(turns)

    # every upstream call made is one stored attempt
    all_attempts = get(url, "/attempts")["attempts"]
    assert len(all_attempts) == len(claude.requests) + len(ollama_chats(ollama)) == 7

    # ---------------------------------------------------------- DataFrames, through the server
    monkeypatch.setattr(tf, "_source", None)
    tf.connect(url)
    sessions = tf.sessions().set_index("session_id")
    assert set(sessions.index) == {SID, chat_id}
    assert sessions.loc[SID, "source"] == "anthropic" and sessions.loc[SID, "turn_count"] == 8
    assert sessions.loc[SID, "providers"] == {"ollama": 3, "claude": 1}
    assert sessions.loc[SID, "tokens_saved"] == local_tokens and sessions.loc[chat_id, "escalations"] == 1

    frame = tf.turns(SID)
    assert frame["role"].tolist() == ["user", "assistant"] * 4
    assert frame["text"].tolist() == [text for _, text in turn_texts(turns)]
    answers = frame[frame.role == "assistant"]
    assert answers["provider"].tolist() == ["ollama", "claude", "ollama", "ollama"]
    assert frame[frame.role == "user"]["provider"].isna().all()
    assert (answers.tokens_out > 0).all() and (frame.tokens_in > 0).all()
    assert answers.groupby("provider", observed=True).tokens_out.sum().to_dict().keys() == {"ollama", "claude"}

    frame = tf.attempts(SID)
    assert frame["provider"].tolist() == [a["provider"] for a in attempts]
    assert frame["status"].tolist() == [200, 200, 400, 200, 200]
    assert frame["outcome"].tolist() == ["ok", "ok", "error", "ok", "ok"]
    assert frame["trigger"].tolist() == [a["trigger"] for a in attempts]
    assert len(tf.attempts()) == 7

    frame = tf.events()
    assert sorted(frame["kind"].tolist()) == ["escalated", "fallback"]
    assert frame.set_index("kind").loc["fallback", "detail"]["error"] == "credit_balance"

    frame = tf.sitreps(SID)
    assert frame["turn_count"].iloc[-1] == 8 and frame["intent"].iloc[-1] == sitrep["intent"]
    assert isinstance(frame["sitrep"].iloc[-1], dict)
    assert str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(tf.sessions()["last_activity"].iloc[0], pd.Timestamp)


def test_attempt_triggers_use_the_documented_vocabulary(claude_and_ollama):
    """docs/store.md and docs/dataframes.md: an attempt's trigger is one of ``direct``, ``simple
    turn``, ``fallback: <class>``, ``escalated``, ``retry`` (the example query groups fallbacks by
    trigger to see which errors caused them). X-Trooper-Decision uses the same words: a forced
    route is ``direct``, and every turn the router sends to the cloud is ``escalated``."""
    server, claude, ollama = claude_and_ollama
    talk = Conversation(server.url, "triggers")
    ollama.default = reply_text(SIMPLE_ANSWER)
    claude.enqueue(reply_text(CLOUD_ANSWER))
    assert talk.ask(CLOUD)[1]["x-trooper-decision"] == "claude (escalated)"
    claude.enqueue(out_of_credit())
    assert talk.ask(FALLBACK)[1]["x-trooper-decision"] == "ollama (fallback: credit_balance)"
    with sdk(server.url) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "explain monads"}],
            extra_headers={"X-Session-ID": "triggers-forced", "X-Trooper-Route": "local"},
        )
    assert raw.headers["x-trooper-decision"] == "ollama (direct)"
    server.flush()
    triggers = [(a["provider"], a["outcome"], a["trigger"]) for a in get(server.url, "/sessions/triggers/attempts")["attempts"]]
    assert triggers == [
        ("claude", "ok", "escalated"),
        ("claude", "error", "escalated"),
        ("ollama", "ok", "fallback: credit_balance"),
    ]
    forced = get(server.url, "/sessions/triggers-forced/attempts")["attempts"]
    assert [a["trigger"] for a in forced] == ["direct"]


# ---------------------------------------------------------------- restart and SIGKILL


def test_a_restarted_server_keeps_and_continues_sessions(fake_ollama, fake_anthropic, trooper_process, db):
    env = {"TROOPER_DB": db, "FALLBACK_URL": fake_ollama.api_chat_url,
           "CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": fake_anthropic.messages_url}  # fmt: skip
    fake_ollama.default = echo(lambda r: f"local: {r.last_user_text()}")
    fake_anthropic.default = echo(lambda r: f"cloud: {r.last_user_text()}")

    first = trooper_process(**env)
    talk = Conversation(first.url, "restart-me")
    talk.ask("how many days in a week")
    talk.ask("what is the capital of france")
    with httpx.Client(base_url=first.url + "/api/chat", timeout=30) as chat:
        chat_id = chat.post("/sessions").json()["id"]
        chat_turn(chat, f"/sessions/{chat_id}/messages", {"content": "my name is Ada and i like go"})
    assert first.terminate() == 0
    banner = "".join(first.output)
    assert f"store:      {store_label(db)}" in banner and PASSWORD not in banner, "the store is named, never its password"

    second = trooper_process(**env)
    assert second.url  # a new process on a free port, on the same store file
    listed = {s["id"]: s for s in get(second.url, "/sessions")["sessions"]}
    assert listed["restart-me"]["turn_count"] == 4 and listed[chat_id]["turn_count"] == 2
    assert turn_texts(transcript(second.url, "restart-me")) == [
        ("user", "how many days in a week"), ("assistant", "local: how many days in a week"),
        ("user", "what is the capital of france"), ("assistant", "local: what is the capital of france"),
    ]  # fmt: skip

    # The proxy session continues: the resent history is recognised, nothing is duplicated.
    before = len(ollama_chats(fake_ollama))
    talk.url = second.url
    talk.ask("how many hours in a day")
    sent = ollama_chats(fake_ollama)[before].json["messages"]
    assert [m["content"] for m in sent] == [m["content"] for m in talk.messages[:-1]]
    turns = transcript(second.url, "restart-me")
    assert len(turns) == 6 and {t["branch"] for t in turns} == {0}
    assert get(second.url, "/sessions/restart-me")["branch"] == 0

    # The chat session continues from the store: its next upstream request carries the earlier turns.
    with httpx.Client(base_url=second.url + "/api/chat", timeout=30) as chat:
        before = len(ollama_chats(fake_ollama))
        chat_turn(chat, f"/sessions/{chat_id}/messages", {"content": "what is my name"})
        sent = ollama_chats(fake_ollama)[before].json["messages"]
        assert [(m["role"], m["content"]) for m in sent] == [
            ("user", "my name is Ada and i like go"),
            ("assistant", "local: my name is Ada and i like go"),
            ("user", "what is my name"),
        ]
        state = chat.get(f"/sessions/{chat_id}").json()
        assert [m["role"] for m in state["messages"]] == ["user", "assistant", "user", "assistant"]
    assert second.terminate() == 0


def test_sigkill_mid_stream_leaves_a_readable_store_with_every_completed_turn(fake_ollama, trooper_process, db, monkeypatch):
    fake_ollama.default = echo(lambda r: f"local: {r.last_user_text()}")
    server = trooper_process(TROOPER_DB=db, FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_IDLE_TIMEOUT="30")
    talk = Conversation(server.url, "killed")
    talk.ask("how many days in a week")
    talk.ask("what is the capital of france")

    # A long, slow answer: the server is killed while it streams.
    fake_ollama.enqueue(reply_text("word " * 200, chunk_delay=0.05))
    talk.messages.append({"role": "user", "content": "list every month of the year"})
    received = []
    with sdk(server.url) as client:
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=500, messages=talk.messages, extra_headers={"X-Session-ID": "killed"}
        ) as stream:
            for text in stream.text_stream:
                received.append(text)
                if len(received) == 3:
                    # What the server shows as stored is committed: wait for the new user turn.
                    deadline = time.monotonic() + 5
                    while len(transcript(server.url, "killed")) < 5:
                        assert time.monotonic() < deadline
                        time.sleep(0.02)
                    assert server.kill() == -9
                    break
    completed = [
        ("user", "how many days in a week"), ("assistant", "local: how many days in a week"),
        ("user", "what is the capital of france"), ("assistant", "local: what is the capital of france"),
        ("user", "list every month of the year"),
    ]  # fmt: skip

    # The store is readable as it is (no shutdown ran), through the DataFrames...
    monkeypatch.setattr(tf, "_source", None)
    tf.connect(db)
    frame = tf.turns("killed")
    assert list(zip(frame["role"].astype(str), frame["text"])) == completed
    assert tf.attempts("killed")["outcome"].tolist()[:2] == ["ok", "ok"]

    # ...and by a new server on the same store, which serves and continues the session.
    again = trooper_process(TROOPER_DB=db, FALLBACK_URL=fake_ollama.api_chat_url)
    assert turn_texts(transcript(again.url, "killed")) == completed
    summary = get(again.url, "/sessions/killed")
    assert summary["turn_count"] == 5 and summary["providers"] == {"ollama": 2}
    # The client retries the question that was cut off: it is answered once, not duplicated.
    fake_ollama.enqueue(reply_text("January, February and the ten others."))
    with sdk(again.url) as client:
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, messages=talk.messages, extra_headers={"X-Session-ID": "killed"}
        )
    assert text_of(message) == "January, February and the ten others."
    turns = transcript(again.url, "killed")
    assert turn_texts(turns) == completed + [("assistant", "January, February and the ten others.")]
    assert {t["branch"] for t in turns} == {0}
    assert again.terminate() == 0
