"""Dollars spent and avoided through a real server: the chat's stats, the session summary, the
per-client figures and ``trooper.sessions()`` agree, priced at TROOPER_PRICES when it is set."""

from __future__ import annotations

import json

import httpx
import pytest

import trooper.notebook.dataframes as tf
from tests.chat_sse import post_sse
from tests.fakes.behaviours import reply_text

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
HAIKU = (1.00, 5.00)  # the list price of the default Claude model, dollars per million tokens


def dollars(tokens_in: int, tokens_out: int, price: tuple[float, float], written: int = 0) -> float:
    """What an answer costs; ``written``: prompt tokens Claude wrote to its five-minute cache (1.25× input)."""
    return (tokens_in * price[0] + written * 1.25 * price[0] + tokens_out * price[1]) / 1_000_000


@pytest.fixture
def chat(fake_anthropic, fake_ollama, make_trooper):  # type: ignore[no-untyped-def]
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client


def test_a_local_answer_avoids_and_an_escalation_spends(chat, fake_anthropic, fake_ollama, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server, client = chat
    monkeypatch.setattr(tf, "_source", None)  # tf.connect below: undone after the test
    chat_id = client.post("/api/chat/sessions").json()["id"]
    fake_ollama.enqueue(reply_text("A pool of ten connections is plenty here."))
    local = post_sse(client, f"/api/chat/sessions/{chat_id}/messages", {"content": "How big should my pool be?"})[-1][1]
    avoided = dollars(local["tokens_in"], local["tokens_out"], HAIKU)
    assert avoided > 0
    assert local["stats"] == {"tokens_saved": local["tokens_in"] + local["tokens_out"], "escalations": 0,
                              "cost_spent": 0.0, "cost_avoided": pytest.approx(avoided), "unpriced_turns": 0}

    fake_anthropic.enqueue(reply_text("Use PgBouncer in transaction mode with a pool of twenty."))
    cloud = post_sse(client, f"/api/chat/sessions/{chat_id}/escalate")[-1][1]
    assert cloud["provider"] == "claude" and cloud["model"].startswith("claude-haiku-4-5")
    # The chat asks Claude to cache its prompt (it sends the whole session each turn): the write is billed.
    assert fake_anthropic.requests[-1].json["cache_control"] == {"type": "ephemeral"} and fake_anthropic.cache_writes[-1] > 0
    spent = dollars(cloud["tokens_in"], cloud["tokens_out"], HAIKU, written=fake_anthropic.cache_writes[-1])
    assert cloud["stats"]["cost_spent"] == pytest.approx(spent) and cloud["stats"]["cost_avoided"] == pytest.approx(avoided)

    server.flush()
    summary = client.get(f"/sessions/{chat_id}").json()
    assert (summary["cost_spent"], summary["cost_avoided"], summary["unpriced_turns"]) == (
        pytest.approx(spent), pytest.approx(avoided), 0)
    assert client.get(f"/api/chat/sessions/{chat_id}").json()["stats"]["cost_avoided"] == pytest.approx(avoided)
    (only_client,) = client.get("/clients").json()["clients"]
    assert only_client == {"client": "python-httpx", "sessions": 1, "tokens_saved": summary["tokens_saved"],
                         "cost_spent": pytest.approx(spent), "cost_avoided": pytest.approx(avoided), "unpriced_turns": 0}
    turns = client.get(f"/sessions/{chat_id}/transcript").json()["turns"]
    assert [t["cost_avoided"] for t in turns if t["provider"]] == [pytest.approx(avoided), 0.0]

    tf.connect(server.url)
    sessions = tf.sessions()
    assert sessions.loc[0, "cost_spent"] == pytest.approx(spent) and sessions.loc[0, "cost_avoided"] == pytest.approx(avoided)
    by_client = sessions.groupby("client", observed=True)[["cost_spent", "cost_avoided"]].sum()
    assert by_client.loc["python-httpx", "cost_avoided"] == pytest.approx(avoided)


def test_a_restart_keeps_the_figures(fake_anthropic, fake_ollama, make_trooper, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": fake_anthropic.messages_url, "FALLBACK_URL": fake_ollama.api_chat_url,
           "TROOPER_DB": str(tmp_path / "trooper.db")}
    first = make_trooper(**env)
    with httpx.Client(base_url=first.url, timeout=30) as client:
        chat_id = client.post("/api/chat/sessions").json()["id"]
        fake_ollama.enqueue(reply_text("Local."))
        before = post_sse(client, f"/api/chat/sessions/{chat_id}/messages", {"content": "hi"})[-1][1]["stats"]
    first.stop()
    second = make_trooper(**env)
    with httpx.Client(base_url=second.url, timeout=30) as client:
        fake_ollama.enqueue(reply_text("Local again."))
        after = post_sse(client, f"/api/chat/sessions/{chat_id}/messages", {"content": "and again"})[-1][1]["stats"]
    assert after["cost_avoided"] > before["cost_avoided"] > 0, "the live figures continue from the stored ones"


def test_no_cloud_avoids_nothing_and_trooper_prices_sets_the_price(fake_anthropic, fake_ollama, make_trooper) -> None:
    local_only = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    with httpx.Client(base_url=local_only.url, timeout=30) as client:
        chat_id = client.post("/api/chat/sessions").json()["id"]
        fake_ollama.enqueue(reply_text("Local."))
        stats = post_sse(client, f"/api/chat/sessions/{chat_id}/messages", {"content": "hi"})[-1][1]["stats"]
        assert (stats["tokens_saved"], stats["cost_avoided"]) == (0, 0.0)

    prices = {"claude-haiku-4-5": {"input": 100, "output": 500}, "fake-gateway": {"input": 1, "output": 1}}
    priced = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
                          TROOPER_PRICES=json.dumps(prices), CLAUDE_MODEL="unlisted-model")
    with httpx.Client(base_url=priced.url, timeout=30) as client:
        chat_id = client.post("/api/chat/sessions").json()["id"]
        fake_ollama.enqueue(reply_text("Local."))
        stats = post_sse(client, f"/api/chat/sessions/{chat_id}/messages", {"content": "hi"})[-1][1]["stats"]
        assert stats["tokens_saved"] > 0 and stats["cost_avoided"] == 0.0 and stats["unpriced_turns"] == 1, (
            "Claude would have answered with a model the table does not price: counted as unpriced, not as $0 saved")
