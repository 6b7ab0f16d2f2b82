"""``POST /v1/responses/compact``: Codex's remote compaction through Trooper. Codex calls it (its
provider being OpenAI's) whenever a session nears the model's window; it got a 405 (the path fell
to ``GET /v1/responses/{id}``'s route), so long Codex sessions broke there. Now the routed model
writes the summary, and the compacted history reads the same to every upstream."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text
from trooper.conversation import SUMMARY_HEADING, Message, TextBlock
from trooper.memory.summary_request import COMPACTION_PROMPT
from trooper.server.compact_door import kept_user_texts

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
CLOUD = {"X-Trooper-Route": "cloud", "session-id": "codex-compact-1"}
SUMMARY = "Goal: fix the flaky test in tests/test_io.py. Done: found the race. Next: add a lock."

#: A Codex history: its environment message, the user's request, a tool call and its output,
#: reasoning, the answer, and the user's follow-up.
HISTORY = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>cwd=/repo</environment_context>"}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "The test tests/test_io.py is flaky; fix it."}]},
    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Look at the test first."}]},
    {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": '{"command": ["cat", "tests/test_io.py"]}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "def test_io(): ..."},
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "It races on the temp file."}]},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Good, go on."}]},
]


@pytest.fixture
def claude(fake_anthropic, fake_openai, make_trooper):
    fake_anthropic.default = reply_text(SUMMARY)
    fake_openai.default = reply_text("Done.")
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url,
        OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url,
    )  # fmt: skip
    return server, fake_anthropic, fake_openai


def compact(server, body: dict) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.post("/v1/responses/compact", json=body, headers=CLOUD)


def test_codex_compaction_is_answered_in_openais_shape_by_the_routed_model(claude):
    server, fake_claude, _ = claude
    response = compact(server, {"model": "gpt-5-codex", "instructions": "You are Codex.", "input": HISTORY})
    assert response.status_code == 200, response.text
    assert response.headers["X-Trooper-Provider"] == "claude"
    body = response.json()
    assert body["object"] == "response.compaction" and body["id"].startswith("resp_")
    *users, compaction = body["output"]
    assert [u["content"][0]["text"] for u in users] == [
        "<environment_context>cwd=/repo</environment_context>", "The test tests/test_io.py is flaky; fix it.", "Good, go on.",
    ]
    assert all(u["type"] == "message" and u["role"] == "user" for u in users)
    assert compaction["type"] == "compaction" and compaction["encrypted_content"] == "trooper.summary:" + SUMMARY
    assert body["usage"]["output_tokens"] > 0

    sent = fake_claude.requests[-1].json
    assert "tools" not in sent, "the summary's turn offers no tools"
    assert sent["system"] == "You are Codex."
    blocks = [block for message in sent["messages"] for block in message["content"]]
    assert {block["type"] for block in blocks} == {"text"}, "tool calls and results told as text"
    assert any("[called tool shell with" in b["text"] for b in blocks) and any("[tool result: def test_io()" in b["text"] for b in blocks)
    assert sent["messages"][-1]["content"][-1]["text"] == COMPACTION_PROMPT


def test_the_compacted_history_continues_on_any_model(claude):
    server, fake_claude, fake_openai = claude
    compacted = compact(server, {"model": "gpt-5-codex", "input": HISTORY}).json()["output"]
    next_turn = [*compacted, {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Add the lock now."}]}]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        to_claude = client.post("/v1/responses", json={"model": "gpt-5-codex", "input": next_turn}, headers=CLOUD)
        # A built-in tool sends the turn to OpenAI's Responses API.
        to_openai = client.post("/v1/responses", json={"model": "gpt-5-codex", "input": next_turn, "tools": [{"type": "web_search"}]}, headers=CLOUD)
    assert to_claude.status_code == to_openai.status_code == 200
    claude_text = [b["text"] for m in fake_claude.requests[-1].json["messages"] for b in m["content"]]
    assert f"{SUMMARY_HEADING}\n{SUMMARY}" in claude_text and claude_text[-1] == "Add the lock now."
    openai_input = fake_openai.requests[-1].json["input"]
    assert any(f"{SUMMARY_HEADING}\n{SUMMARY}" in part.get("text", "") for item in openai_input for part in item.get("content", []) if isinstance(part, dict))
    assert not any(item.get("type") == "compaction" for item in openai_input), "Trooper's summary reaches OpenAI as text"


def test_the_compacted_history_continues_the_sessions_transcript(claude):
    # It branched the transcript: the compacted history shares only its first message with the
    # stored one, so the session's dashboard and SITREP lost everything before the compaction.
    server, fake_claude, _ = claude
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/v1/responses", json={"model": "gpt-5-codex", "input": HISTORY}, headers=CLOUD).status_code == 200
        compacted = compact(server, {"model": "gpt-5-codex", "input": [*HISTORY, {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": SUMMARY}]}]})
        output = compacted.json()["output"]
        fake_claude.default = reply_text("Lock added.")
        ask = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Add the lock now."}]}
        first = client.post("/v1/responses", json={"model": "gpt-5-codex", "input": [*output, ask]}, headers=CLOUD)
        answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Lock added."}]}
        again = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Commit it."}]}
        second = client.post("/v1/responses", json={"model": "gpt-5-codex", "input": [*output, ask, answer, again]}, headers=CLOUD)
    assert first.status_code == second.status_code == 200
    session = first.headers["X-Trooper-Session"]
    assert compacted.headers["X-Trooper-Session"] == session
    server.flush()
    turns = httpx.get(f"{server.url}/sessions/{session}/transcript", timeout=10).json()["turns"]
    assert {turn["branch"] for turn in turns} == {0}, "one transcript: the compaction's turn, then what followed it"
    texts = [block.get("text") for turn in turns for block in turn["content"] if block.get("type") == "text"]
    assert texts[-4:] == ["Add the lock now.", "Lock added.", "Commit it.", "Lock added."]
    assert texts.count("Add the lock now.") == 1 and SUMMARY in texts
    # The turn that asked for the summary is Trooper's, not the user's: never the session's intent.
    sitrep = httpx.get(f"{server.url}/sitrep/{session}", timeout=10).json()
    assert "flaky" in sitrep["intent"] and not any("summary" in loop for loop in sitrep["open_loops"])


def test_openais_own_compaction_goes_back_to_openai_alone(claude):
    server, fake_claude, fake_openai = claude
    theirs = {"type": "compaction", "id": "cmp_1", "encrypted_content": "gAAAAB-opaque"}
    history = [HISTORY[1], theirs, {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Go on."}]}]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.post("/v1/responses", json={"model": "gpt-5-codex", "input": history}, headers=CLOUD).status_code == 200
        assert client.post("/v1/responses", json={"model": "gpt-5-codex", "input": history, "tools": [{"type": "web_search"}]}, headers=CLOUD).status_code == 200
    claude_text = [b["text"] for m in fake_claude.requests[-1].json["messages"] for b in m["content"]]
    assert "[the earlier conversation was compacted by OpenAI; only OpenAI can read its summary]" in claude_text
    assert theirs in fake_openai.requests[-1].json["input"]


def test_the_sdks_compact_call(claude):
    server, _, _ = claude
    # Not strict: the SDK's CompactedResponse cannot hold the user messages OpenAI's own answer
    # holds (its output union has no input message), whoever answers.
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0) as client:
        compacted = client.responses.compact(model="gpt-5-codex", input="Summarise our plan: ship on Friday.", extra_headers=CLOUD)
    assert compacted.object == "response.compaction"
    assert compacted.output[-1].type == "compaction"


def test_bad_input_is_a_400_in_openai_shape(claude):
    server, fake_claude, _ = claude
    response = compact(server, {"model": "gpt-5-codex"})
    assert response.status_code == 400 and "input: field required" in response.json()["error"]["message"]
    assert fake_claude.requests == []


def test_the_newest_user_texts_are_kept_within_the_budget():
    messages = [Message("user", [TextBlock("old " * 50)]), Message("assistant", [TextBlock("ok")]), Message("user", [TextBlock("new")]),
                Message("user", [TextBlock(f"{SUMMARY_HEADING}\nearlier summary")])]
    assert kept_user_texts(messages) == ["old " * 50, "new"]
    cut = kept_user_texts(messages, budget=20)
    assert cut[-1] == "new" and len(cut) == 2 and cut[0].startswith("old old") and len(cut[0]) < len("old " * 50)
    assert kept_user_texts(messages, budget=1) == ["new"]
