"""The fallback context carries the whole story from a session's first request on.

An agent's first request to Trooper often carries a long history (a resumed Claude Code session,
a client that keeps its own transcript). When Claude fails on it, the local model gets that
history compacted into its window: the SITREP in that context must be read from the conversation
the request carries, not from the store, which records the request only after it is answered.
"""

from __future__ import annotations

import re

import anthropic
import pytest

from tests.fakes.behaviours import reply_text, server_error
from trooper.conversation import Message, TextBlock
from trooper.memory.tokens import count_request_tokens

WINDOW = 4000
LOCAL_TEXT = "Use pgxpool.Config with MaxConnIdleTime and a context deadline per query."
GOAL = "How do I set up a pgxpool connection pool with per-query timeouts in Go?"
LATEST = "Last thing: which MaxConns value would you pick for 4 replicas and a 100-connection limit?"


def long_history() -> list[dict[str, str]]:
    """43 messages, ~40k tokens: the goal first, then long turns of logs and answers."""
    log = "\n".join(f"2026-12-01T10:{i % 60:02d}:00Z level=info msg=\"query ok\" conn={i} wait=3ms" for i in range(60))
    history = [{"role": "user", "content": f"I'm writing an orders service in Go on Postgres. {GOAL}"}]
    for turn in range(20):
        history.append({"role": "assistant", "content": f"Step {turn}: here is what the log shows.\n{log}"})
        history.append({"role": "user", "content": f"ok, next log for step {turn}:\n{log}"})
    history.append({"role": "assistant", "content": "The pool looks healthy in these logs."})
    history.append({"role": "user", "content": LATEST})
    return history


@pytest.fixture
def failing_claude(fake_anthropic, fake_ollama, make_trooper):
    fake_anthropic.default = server_error(503)
    fake_ollama.default = reply_text(LOCAL_TEXT)
    server = make_trooper(
        CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
        FALLBACK_URL=fake_ollama.api_chat_url, CONTEXT_WINDOW=str(WINDOW),
    )
    return server, fake_ollama


def test_first_request_with_long_history_gives_the_local_model_a_full_sitrep(failing_claude):
    server, ollama = failing_claude
    history = long_history()
    assert len(history) == 43
    assert count_request_tokens(None, [Message(m["role"], [TextBlock(m["content"])]) for m in history]) > 30_000

    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=300, messages=history, extra_headers={"X-Session-ID": "first-long"}
        )
    message = raw.parse()
    assert message.content[0].text == LOCAL_TEXT
    assert raw.headers["x-trooper-decision"].startswith("ollama (fallback: ")

    sent = [r for r in ollama.requests if r.path == "/api/chat"][-1].json
    system = sent["messages"][0]
    assert system["role"] == "system"
    block = re.search(r"\[TROOPER_SITREP\]\n(.*?)\n\[/TROOPER_SITREP\]", system["content"], re.S)
    assert block, system["content"][:500]
    intent = re.search(r"^intent: (.*)$", block.group(1), re.M)
    assert intent and "pool" in intent.group(1) and "timeout" in intent.group(1), block.group(1)
    assert sent["messages"][-1] == {"role": "user", "content": LATEST}, "the latest question intact"
    kept = [Message(m["role"], [TextBlock(m["content"])]) for m in sent["messages"][1:]]
    assert count_request_tokens(system["content"], kept) <= WINDOW
    assert sent["options"]["num_ctx"] == WINDOW


def test_a_sitrep_never_reads_its_own_block_or_an_echo_of_it():
    from trooper.memory.sitrep import extract_sitrep

    echoed = (
        "[TROOPER_SITREP]\nintent: deploy the billing service (confidence 0.90)\nopen: rollback of v2 pending\n"
        "done: migrated the ledger table\n[/TROOPER_SITREP]\nSure, here is the answer."
    )
    messages = [
        Message("user", [TextBlock("Can you help me rename the columns of my CSV export?")]),
        Message("assistant", [TextBlock(echoed)]),
        Message("user", [TextBlock("[Trooper: 12 earlier messages compacted; see TROOPER_SITREP in the system prompt]")]),
    ]
    sitrep = extract_sitrep(messages)
    text = repr(sitrep.to_dict())
    assert "billing" not in text and "ledger" not in text and "rollback" not in text
    assert "compacted" not in text
    assert "rename" in sitrep.intent


def test_a_session_that_stays_local_sends_each_prompt_as_the_last_one_and_the_new_turns(failing_claude):
    """A local model evaluates again only what follows the prefix its new prompt shares with the
    last one. Compacting anew each turn (the tail's start moving, the SITREP in the system prompt
    rewritten) made Ollama read the whole window again on every turn of a long fallback; now the
    cut stays where it was while the conversation grows into the room it left."""
    server, ollama = failing_claude
    history = long_history()
    prompts = []
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        for turn in range(8):
            answer = client.messages.create(model="claude-sonnet-4-5", max_tokens=300, messages=history,
                                            extra_headers={"X-Session-ID": "stays-local"})
            prompts.append([r for r in ollama.requests if r.path == "/api/chat"][-1].json["messages"])
            history = [*history, {"role": "assistant", "content": answer.content[0].text},
                       {"role": "user", "content": f"And for {turn + 5} replicas?"}]
    extended = [later[: len(earlier)] == earlier for earlier, later in zip(prompts, prompts[1:])]
    assert sum(extended) >= 5, extended  # the cut leaves room for several turns before the next
    for prompt in prompts:
        kept = [Message(m["role"], [TextBlock(m["content"])]) for m in prompt[1:]]
        assert count_request_tokens(prompt[0]["content"], kept) <= WINDOW and "[TROOPER_SITREP]" in prompt[0]["content"]
