"""SITREP and recovery over HTTP: sessions built through the proxy with the official SDKs, read
back from ``GET /sitrep/{id}`` and ``GET /recovery/{id}``.

Trooper runs as a real server; the local model is a fake Ollama whose answers are scripted from
the request (an echo), so the stored conversation is exactly the one a user would have had.
"""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import echo
from trooper.conversation import Message, TextBlock
from trooper.memory.tokens import count_request_tokens

SESSIONS = Path(__file__).resolve().parents[1] / "data" / "sessions" / "dev" / "original"
BUDGET = 900
PR_WORK = {
    1: "extract the configuration loading into its own module and keep the old import path working",
    2: "move the HTTP handlers onto the new router and delete the legacy dispatch table",
    3: "add integration tests for the handlers against a real database in a container",
}


def anthropic_client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True)


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def pr_request(n: int) -> str:
    background = " ".join(f"Background note {i} for PR {n}: the service must keep serving traffic during the change." for i in range(14))
    return f"Now do PR #{n}: {PR_WORK[n]}. {background}"


def get_json(url: str) -> tuple[int, dict]:
    response = httpx.get(url, timeout=10)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.status_code, response.json()


@pytest.fixture
def local_only(fake_ollama, make_trooper):
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, CONTEXT_WINDOW=str(BUDGET))
    return server, fake_ollama


def test_recovery_after_three_completed_prs_resumes_from_step_4(local_only):
    server, ollama = local_only
    ollama.default = echo(lambda r: "Completed PR #" + r.last_user_text().split("#", 1)[1][0])
    history: list[dict[str, str]] = []
    with anthropic_client(server.url) as client:
        for n in (1, 2, 3):
            history.append({"role": "user", "content": pr_request(n)})
            message = client.messages.create(
                model="claude-haiku-4-5", max_tokens=100, messages=history, extra_headers={"X-Session-ID": "pr-chain"}
            )
            assert message.content[0].text == f"Completed PR #{n}"
            history.append({"role": "assistant", "content": message.content[0].text})
    assert count_request_tokens(None, [Message(m["role"], [TextBlock(m["content"])]) for m in history]) > BUDGET

    status, recovery = get_json(f"{server.url}/recovery/pr-chain")
    assert status == 200
    assert recovery["session_id"] == "pr-chain"
    assert recovery["resume_from"] == 4
    assert recovery["recovery_hint"].startswith("Resume from step 4")
    steps = recovery["completed_steps"]
    assert len(steps) == 3 and all(f"Completed PR #{n}" in step for n, step in zip((1, 2, 3), steps)), steps

    # `context` is the conversation compacted into CONTEXT_WINDOW: a SITREP in a system entry,
    # then verbatim turns ending with the latest, alternating and starting with a user turn.
    context = recovery["context"]
    assert context[0]["role"] == "system" and "[TROOPER_SITREP]" in context[0]["content"]
    assert "Completed PR #" in context[0]["content"]
    turns = context[1:]
    assert turns[-1] == {"role": "assistant", "content": "Completed PR #3"}
    assert turns[0]["role"] == "user"
    assert all(a["role"] != b["role"] for a, b in zip(turns, turns[1:]))
    # kept turns are verbatim; a one-line "[Trooper: ...]" user bridge may say what was left out
    assert all(turn in history or turn["content"].startswith("[Trooper: ") for turn in turns), turns
    assert turns[-2:] == history[-2:]
    assert sum(turn in history for turn in turns) < len(history), "something was compacted away"
    kept = [Message(m["role"], [TextBlock(m["content"])]) for m in turns]
    assert count_request_tokens(context[0]["content"], kept) <= BUDGET

    # A new agent can start from it as it is: one SDK call, strict validation on.
    ollama.default = echo(lambda r: "Starting PR #4.")
    with anthropic_client(server.url) as client:
        message = client.messages.create(
            model="claude-haiku-4-5", max_tokens=100, system=context[0]["content"],
            messages=turns + [{"role": "user", "content": recovery["recovery_hint"]}],
            extra_headers={"X-Session-ID": "pr-chain-resumed"},
        )
    assert message.content[0].text == "Starting PR #4."
    sent = [r for r in ollama.requests if r.path == "/api/chat"][-1].json["messages"]
    assert sent[0]["role"] == "system" and "[TROOPER_SITREP]" in sent[0]["content"]

    # The typed SITREP of the original session.
    status, sitrep = get_json(f"{server.url}/sitrep/pr-chain")
    assert status == 200
    assert sitrep["session_id"] == "pr-chain" and sitrep["turn_count"] == 6
    assert sitrep["completed_steps"] == recovery["completed_steps"]
    assert isinstance(sitrep["intent"], str) and isinstance(sitrep["confidence"], float) and 0 <= sitrep["confidence"] <= 1
    for key in ("entities", "open_loops", "completed_steps", "resolved_loops", "decisions", "constraints"):
        assert isinstance(sitrep[key], list) and all(isinstance(item, str) for item in sitrep[key]), key


def test_postgres_pool_session_sent_turn_by_turn_yields_its_sitrep(local_only):
    server, ollama = local_only
    original = json.loads((SESSIONS / "postgres-pool-go.json").read_text())["messages"]
    replies = {
        original[i]["content"]: original[i + 1]["content"]
        for i in range(0, len(original) - 1, 2)
    }
    last_answer = "Set MaxConnIdleTime to a few minutes and keep MinConns at the steady load."
    ollama.default = echo(lambda r: replies.get(r.last_user_text(), last_answer))

    history: list[dict[str, str]] = []
    with openai_client(server.url) as client:
        for turn in original:
            if turn["role"] != "user":
                continue
            history.append({"role": "user", "content": turn["content"]})
            completion = client.chat.completions.create(
                model="gpt-4o-mini", max_tokens=200, messages=history, extra_headers={"X-Session-ID": "pg-pool"}
            )
            history.append({"role": "assistant", "content": completion.choices[0].message.content})
    assert [m["content"] for m in history[:-1]] == [m["content"] for m in original]

    status, sitrep = get_json(f"{server.url}/sitrep/pg-pool")
    assert status == 200
    assert sitrep["turn_count"] == 14
    assert sitrep["intent"] == "building a postgres connection pool in go"
    assert "postgres" in sitrep["entities"] and "repo/orders.go" in sitrep["entities"]
    assert any("leak" in loop for loop in sitrep["open_loops"]), sitrep["open_loops"]

    status, recovery = get_json(f"{server.url}/recovery/pg-pool")
    assert status == 200
    assert recovery["intent"] == sitrep["intent"] and recovery["open_loops"] == sitrep["open_loops"]
    assert "still open" in recovery["recovery_hint"] and "leak" in recovery["recovery_hint"]
    assert recovery["context"][-1] == {"role": "assistant", "content": last_answer}


@pytest.mark.parametrize("path", ["/sitrep/no-such-session", "/recovery/no-such-session"])
def test_unknown_session_is_a_404_json_error(local_only, path):
    server, _ = local_only
    status, body = get_json(server.url + path)
    assert status == 404
    assert body["error"]["type"] == "not_found_error" and body["error"]["message"]
    assert (get_json(server.url + "/sessions")[1])["sessions"] == [], "asking did not create the session"
