"""The chat API over real HTTP: local first, escalate with full context, back to local with it all."""

from __future__ import annotations

import json
import threading

import httpx

from tests.chat_sse import new_session, post_sse
from tests.fakes.behaviours import echo, out_of_credit, reply_text


def test_seed_scenario_local_escalate_return(chat):
    server, client, claude, ollama = chat
    sid = new_session(client)
    ollama.enqueue(reply_text("Use a pool of 10 connections."))
    events = post_sse(client, f"/sessions/{sid}/messages", {"content": "how big should my postgres pool be?"})
    kinds = [k for k, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and "delta" in kinds
    assert "".join(d["text"] for k, d in events if k == "delta") == "Use a pool of 10 connections."
    done = events[-1][1]
    assert done["provider"] == "ollama" and done["tier"] == "local" and "local" in done["label"]
    assert claude.requests == [], "local first: the cloud is not contacted"

    claude.enqueue(reply_text("Claude recommends PgBouncer with a pool of 20."))
    events = post_sse(client, f"/sessions/{sid}/escalate")
    assert events[0] == ("escalated", {"route": "cloud", "to": "claude"})
    done = events[-1][1]
    assert done["provider"] == "claude" and done["tier"] == "cloud" and done["route"] == "cloud"
    sent = json.dumps(claude.requests[-1].json)
    assert "how big should my postgres pool be?" in sent, "the cloud receives the prior conversation"
    assert claude.requests[-1].json["messages"][-1]["role"] == "user"
    assert done["stats"]["escalations"] == 1

    assert client.post(f"/sessions/{sid}/return").json() == {"route": "local"}
    ollama.enqueue(echo(lambda r: "Summary: " + ("PgBouncer" if "PgBouncer" in json.dumps(r.json) else "nothing")))
    events = post_sse(client, f"/sessions/{sid}/messages", {"content": "summarize what Claude just recommended"})
    done = events[-1][1]
    assert done["provider"] == "ollama"
    assert "".join(d["text"] for k, d in events if k == "delta") == "Summary: PgBouncer"

    state = client.get(f"/sessions/{sid}").json()
    assert state["route"] == "local"
    assert [e["kind"] for e in state["events"] if e["kind"] in ("escalated", "returned")] == ["escalated", "returned"]
    roles = [m["role"] for m in state["messages"]]
    assert roles == ["user", "assistant", "assistant", "user", "assistant"]
    assert [m.get("tier") for m in state["messages"] if m["role"] == "assistant"] == ["local", "cloud", "local"]
    assert state["stats"]["tokens_saved"] > 0


def test_a_chat_that_stays_with_claude_reads_its_prompt_from_claudes_cache(chat):
    """The chat page and the ChatWidget send the whole session on every turn, marking nothing: each
    turn Claude answers asks for its automatic caching, so the next reads what this one wrote."""
    server, client, claude, ollama = chat
    sid = new_session(client)
    ollama.enqueue(reply_text("Use a pool of 10 connections. " * 40))
    post_sse(client, f"/sessions/{sid}/messages", {"content": "how big should my postgres pool be?"})
    claude.enqueue(reply_text("PgBouncer with a pool of 20."), reply_text("Yes, transaction mode."))
    post_sse(client, f"/sessions/{sid}/escalate")
    post_sse(client, f"/sessions/{sid}/messages", {"content": "and transaction pooling?"})
    assert [request.json["cache_control"] for request in claude.requests] == [{"type": "ephemeral"}] * 2
    server.flush()
    turns = httpx.get(f"{server.url}/sessions/{sid}/transcript", timeout=10).json()["turns"]
    cached = [turn["tokens_cached"] for turn in turns if turn["role"] == "assistant" and turn["provider"] == "claude"]
    assert cached[0] == 0 and cached[1] > 0, cached


def test_escalation_without_cloud_explains_how_to_enable_it(fake_ollama, make_trooper):
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    with httpx.Client(base_url=server.url + "/api/chat") as client:
        sid = new_session(client)
        post_sse(client, f"/sessions/{sid}/messages", {"content": "hello"})
        events = post_sse(client, f"/sessions/{sid}/escalate")
        assert events[-1][0] == "error"
        assert "CLAUDE_API_KEY" in events[-1][1]["message"] and "TROOPER_ESCALATE_MODEL" in events[-1][1]["message"]
        state = client.get(f"/sessions/{sid}").json()
        assert state["cloud_available"] is False
        failed = [e for e in state["events"] if e["kind"] == "escalation_failed"]
        assert len(failed) == 1 and "CLAUDE_API_KEY" in failed[0]["detail"]["reason"], "the dashboard shows the attempt"


def test_escalation_while_cloud_fails_falls_back_and_says_so(chat):
    server, client, claude, ollama = chat
    sid = new_session(client)
    post_sse(client, f"/sessions/{sid}/messages", {"content": "hello there"})
    claude.default = out_of_credit()
    ollama.enqueue(reply_text("Local after all."))
    done = post_sse(client, f"/sessions/{sid}/escalate")[-1][1]
    assert done["provider"] == "ollama"
    assert "fallback" in done["label"] and "fallback" in done["decision"]


def test_cancel_mid_stream_records_nothing_half_way(chat):
    server, client, claude, ollama = chat
    sid = new_session(client)
    ollama.enqueue(reply_text("word " * 40, chunk_delay=0.05))
    with client.stream("POST", f"/sessions/{sid}/messages", json={"content": "tell me a story"}) as response:
        for line in response.iter_lines():
            if line.startswith("event: delta"):
                break
    ollama.enqueue(reply_text("Still here."))
    done = post_sse(client, f"/sessions/{sid}/messages", {"content": "are you there?"})[-1][1]
    assert done["provider"] == "ollama"
    messages = client.get(f"/sessions/{sid}").json()["messages"]
    assistant_texts = [m["text"] for m in messages if m["role"] == "assistant"]
    assert assistant_texts == ["Still here."], "the cancelled answer is not stored half-way"


def test_two_tabs_on_one_session(chat):
    server, client, claude, ollama = chat
    sid = new_session(client)
    ollama.default = echo(chunk_delay=0.01)
    results: list[str] = []

    def tab(text: str) -> None:
        with httpx.Client(base_url=server.url + "/api/chat", timeout=30) as own:
            events = post_sse(own, f"/sessions/{sid}/messages", {"content": text})
            results.append(events[-1][0])

    threads = [threading.Thread(target=tab, args=(f"tab {i} says hi",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["done", "done"]
    messages = client.get(f"/sessions/{sid}").json()["messages"]
    assert sorted(m["text"] for m in messages if m["role"] == "user") == ["tab 0 says hi", "tab 1 says hi"]
    assert len([m for m in messages if m["role"] == "assistant"]) == 2


def test_bad_chat_input(chat):
    server, client, _, _ = chat
    assert client.post("/sessions/nope/messages", json={"content": "x"}).status_code == 404
    sid = new_session(client)
    for body in ({}, {"content": ""}, {"content": 5}, {"content": "x", "route": "moon"}):
        response = client.post(f"/sessions/{sid}/messages", json=body)
        assert response.status_code == 400 and response.json()["error"]["message"]
    assert client.post(f"/sessions/{sid}/messages", content=b"\xff").status_code == 400


def test_an_answer_cut_at_the_token_limit_says_so_live_and_when_reopened(chat):
    server, client, claude, ollama = chat
    sid = new_session(client)
    ollama.enqueue(reply_text("The first three steps are", stop_reason="max_tokens"))
    done = post_sse(client, f"/sessions/{sid}/messages", {"content": "list every step"})[-1]
    assert done[0] == "done" and done[1]["stop_reason"] == "max_tokens"
    ollama.enqueue(reply_text("Done."))
    assert post_sse(client, f"/sessions/{sid}/messages", {"content": "thanks"})[-1][1]["stop_reason"] == "end_turn"
    answers = [m for m in client.get(f"/sessions/{sid}").json()["messages"] if m["role"] == "assistant"]
    assert [m["stop_reason"] for m in answers] == ["max_tokens", "end_turn"]


def test_the_escalation_names_the_cloud_it_went_to(fake_gemini, fake_ollama, make_trooper):
    """The chat page's divider says who answered: here Gemini, the only cloud configured."""
    fake_gemini.default = reply_text("from gemini")
    server = make_trooper(GEMINI_API_KEY="gemini-key-0123456789abcdef", GEMINI_URL=fake_gemini.chat_completions_url,
                          FALLBACK_URL=fake_ollama.api_chat_url)
    with httpx.Client(base_url=server.url + "/api/chat") as client:
        sid = new_session(client)
        post_sse(client, f"/sessions/{sid}/messages", {"content": "hello"})
        assert post_sse(client, f"/sessions/{sid}/escalate")[0] == ("escalated", {"route": "cloud", "to": "gemini"})
