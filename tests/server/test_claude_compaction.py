"""Claude's server-side compaction through the Messages door, with the official anthropic SDK
(strict validation): asked for (``compact_20260112`` under the ``compact-2026-01-12`` beta), Claude's
``compaction`` block reaches the client as Claude sent it, created and streamed (one
``compaction_delta``), and a paused compaction says ``compaction``; the history resent with the
block reaches Claude verbatim and in place, and a model that cannot read it (the local one, when
Claude fails) gets what Claude would read: the summary, then what followed it. A compaction
request (``compaction``, the SDK tool runner's ``compact_before_next_turn``) is answered with a
compaction block whoever answers: Claude's own, or the summary another model was asked for."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.anthropic import COMPACTION_BETA, COMPACTION_REQUEST_BETA
from tests.fakes.behaviours import overloaded, reply_text
from tests.server.test_claude_server_tools import chats, sdk
from trooper.conversation import SUMMARY_HEADING, TROOPER_COMPACTION
from trooper.memory.summary_request import COMPACTION_PROMPT

#: Compaction past 50,000 input tokens (the API's smallest trigger).
COMPACT = {"edits": [{"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}]}
PAUSED = {"edits": [{**COMPACT["edits"][0], "pause_after_compaction": True}]}
MODEL = "claude-sonnet-4-6"


def long_history() -> list[dict[str, Any]]:
    """Six turns of a session, ~60,000 tokens: past the trigger."""
    history: list[dict[str, Any]] = []
    for turn in range(3):
        history.append({"role": "user", "content": f"step {turn}: look at this log " + "line of the build log " * 4000})
        history.append({"role": "assistant", "content": f"Read step {turn}; the build fails on a missing header."})
    return history + [{"role": "user", "content": "so what do we fix first?"}]


def ask(client: anthropic.Anthropic, stream: bool, session: str, **request: Any) -> Any:
    request = {"model": MODEL, "max_tokens": 512, "betas": [COMPACTION_BETA], "extra_headers": {"X-Session-ID": session}, **request}
    if not stream:
        return client.beta.messages.create(**request)
    with client.beta.messages.stream(**request) as events:
        return events.get_final_message()


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_claudes_compaction_block_reaches_the_client_as_claude_sent_it(claude_and_ollama, fake_anthropic, fake_ollama, stream):
    fake_anthropic.default = reply_text("Fix the missing header first.", chunks=["Fix the ", "missing header first."])
    with sdk(claude_and_ollama) as client:
        message = ask(client, stream, f"compaction-{stream}", messages=long_history(), context_management=COMPACT)
    compaction, text = message.content
    assert compaction.type == "compaction" and compaction.content.startswith("Summary: the user asked step 0: look at this log")
    assert text.text == "Fix the missing header first." and message.stop_reason == "end_turn"
    (sent,) = fake_anthropic.requests
    assert sent.json["context_management"] == COMPACT and COMPACTION_BETA in sent.headers["anthropic-beta"]
    assert chats(fake_ollama) == []


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_a_paused_compaction_tells_the_client_to_resend(claude_and_ollama, fake_anthropic, stream):
    fake_anthropic.default = reply_text("never reached")
    with sdk(claude_and_ollama) as client:
        message = ask(client, stream, f"paused-{stream}", messages=long_history(), context_management=PAUSED)
    assert message.stop_reason == "compaction"
    assert [block.type for block in message.content] == ["compaction"] and message.content[0].content.startswith("Summary:")


def test_the_history_resent_with_the_block_reaches_claude_in_place_and_the_local_model_as_its_summary(
    claude_and_ollama, fake_anthropic, fake_ollama
):
    fake_anthropic.default = reply_text("Fix the missing header first.")
    fake_ollama.default = reply_text("Add the include, then rebuild.")
    history = long_history()
    with sdk(claude_and_ollama) as client:
        first = ask(client, False, "resent", messages=history, context_management=COMPACT)
        answer = {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]}
        resent = [*history, answer, {"role": "user", "content": "which header?"}]
        ask(client, False, "resent", messages=resent, context_management=COMPACT)
        fake_anthropic.default = overloaded()
        raw = client.beta.messages.with_raw_response.create(
            model=MODEL, max_tokens=512, betas=[COMPACTION_BETA], messages=[*resent, answer, {"role": "user", "content": "and then?"}],
            context_management=COMPACT, extra_headers={"X-Session-ID": "resent"},
        )  # fmt: skip
    assert fake_anthropic.requests[1].json["messages"][len(history)] == answer, "Claude gets its block back verbatim, in place"
    assert raw.headers["x-trooper-decision"].startswith("ollama") and raw.parse().content[0].text == "Add the include, then rebuild."
    local = chats(fake_ollama)[0].json["messages"]
    turns = [(m["role"], m["content"]) for m in local if m["role"] != "system"]
    summary = first.content[0].content
    # Claude reads nothing before its last compaction block: neither does the local model, which
    # gets the summary as the conversation's opening, then what followed the block.
    assert turns == [("user", f"{SUMMARY_HEADING}\n{summary}"), ("assistant", "Fix the missing header first."), ("user", "and then?")]
    assert not any("line of the build log" in m["content"] for m in local)


def test_a_compaction_block_in_a_user_turn_is_a_clear_400(claude_and_ollama, fake_anthropic):
    with sdk(claude_and_ollama) as client, pytest.raises(anthropic.BadRequestError) as raised:
        client.beta.messages.create(
            model=MODEL, max_tokens=64, betas=[COMPACTION_BETA],
            messages=[{"role": "user", "content": [{"type": "compaction", "content": "Summary"}]}],  # type: ignore[list-item]
        )  # fmt: skip
    assert "'compaction' is not allowed in a user message" in raised.value.message
    assert fake_anthropic.requests == []


def compact(client: anthropic.Anthropic, stream: bool, session: str, messages: list[dict[str, Any]], **request: Any) -> Any:
    """A compaction request, as the SDK's tool runner sends it."""
    return ask(client, stream, session, messages=messages, compaction={"type": "summarize", **request}, betas=[COMPACTION_REQUEST_BETA])


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_a_compaction_request_is_answered_by_claudes_compaction(claude_and_ollama, fake_anthropic, fake_ollama, stream):
    fake_anthropic.default = reply_text("never sampled")
    with sdk(claude_and_ollama) as client:
        message = compact(client, stream, f"summarize-{stream}", [{"role": "user", "content": "plan the migration"}])
    assert message.stop_reason == "compaction" and [block.type for block in message.content] == ["compaction"]
    assert message.content[0].content == "Summary: the user asked plan the migration" and message.content[0].signature.startswith("sig_")
    (sent,) = fake_anthropic.requests
    assert sent.json["compaction"] == {"type": "summarize"} and COMPACTION_REQUEST_BETA in sent.headers["anthropic-beta"]
    assert chats(fake_ollama) == []


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_when_claude_fails_another_model_writes_the_summary_and_it_comes_back_as_a_compaction(
    claude_and_ollama, fake_anthropic, fake_ollama, stream
):
    fake_anthropic.default = overloaded()
    fake_ollama.default = reply_text("The user is migrating the orders table; next: backfill.", chunks=["The user is migrating ", "the orders table; next: backfill."])
    history = [
        {"role": "user", "content": "plan the migration"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "schema.sql"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "CREATE TABLE orders (id int);"}]},
    ]
    with sdk(claude_and_ollama) as client:
        message = compact(client, stream, f"summarized-{stream}", history)
    assert message.stop_reason == "compaction"
    (block,) = message.content
    assert block.type == "compaction" and block.content == "The user is migrating the orders table; next: backfill."
    assert block.encrypted_content == TROOPER_COMPACTION, "marked as not Claude's: no Claude signed it"
    asked = chats(fake_ollama)[0].json["messages"]
    assert asked[-1] == {"role": "user", "content": COMPACTION_PROMPT}
    assert any("CREATE TABLE orders" in m["content"] for m in asked), "the tool result told as text"
    assert "tools" not in chats(fake_ollama)[0].json


def test_a_summary_trooper_made_reaches_claude_as_text_and_the_clients_instructions_are_the_prompt(
    claude_and_ollama, fake_anthropic, fake_ollama
):
    fake_anthropic.default = overloaded()
    fake_ollama.default = reply_text("Orders table migration; next: backfill.")
    with sdk(claude_and_ollama) as client:
        made = compact(client, False, "runner", [{"role": "user", "content": "plan the migration"}], instructions="Keep table names.")
        fake_anthropic.default = reply_text("Backfill in batches of 1,000.")
        # The tool runner's next turn: the compaction in place of what it summarizes, then the new turn.
        ask(client, False, "runner", betas=[COMPACTION_REQUEST_BETA], messages=[
            {"role": "assistant", "content": [made.content[0].model_dump(exclude_none=True)]},
            {"role": "user", "content": "how do we backfill?"},
        ])  # fmt: skip
    assert chats(fake_ollama)[0].json["messages"][-1] == {"role": "user", "content": "Keep table names."}
    sent = fake_anthropic.requests[-1].json["messages"]
    assert sent == [{"role": "user", "content": [
        {"type": "text", "text": f"{SUMMARY_HEADING}\nOrders table migration; next: backfill."}, {"type": "text", "text": "how do we backfill?"},
    ]}], "Claude would refuse a compaction block it did not sign"  # fmt: skip


@pytest.mark.parametrize("claude_answers", [True, False], ids=["claudes-compaction", "another-models-summary"])
def test_a_history_resent_opening_with_the_compaction_continues_its_session(
    claude_and_ollama, fake_anthropic, fake_ollama, claude_answers
):
    # The SDK's tool runner names no session, and after a compaction resends only the compaction
    # and what follows it: that is still the same session, its transcript and SITREP going on.
    fake_anthropic.default = reply_text("Read schema.sql first.") if claude_answers else overloaded()
    fake_ollama.default = reply_text("The user plans the orders table migration.")
    opening = [{"role": "user", "content": "plan the migration of the orders table"}]
    with sdk(claude_and_ollama) as client:
        first = client.beta.messages.with_raw_response.create(model=MODEL, max_tokens=256, betas=[COMPACTION_REQUEST_BETA], messages=opening)
        history = [*opening, {"role": "assistant", "content": first.parse().content[0].text}, {"role": "user", "content": "go on"}]
        made = client.beta.messages.with_raw_response.create(
            model=MODEL, max_tokens=256, betas=[COMPACTION_REQUEST_BETA], messages=history, compaction={"type": "summarize"},
        )  # fmt: skip
        fake_anthropic.default = reply_text("Now backfill.")
        compacted = [{"role": "assistant", "content": [made.parse().content[0].model_dump(exclude_none=True)]}, {"role": "user", "content": "next?"}]
        after = client.beta.messages.with_raw_response.create(model=MODEL, max_tokens=256, betas=[COMPACTION_REQUEST_BETA], messages=compacted)
    session = first.headers["x-trooper-session"]
    assert made.headers["x-trooper-session"] == session and after.headers["x-trooper-session"] == session
    claude_and_ollama.flush()
    stored = httpx.get(f"{claude_and_ollama.url}/sessions/{session}/transcript", timeout=10).json()
    texts = [turn["content"][0].get("text") or turn["content"][0].get("item", {}).get("content") for turn in stored["turns"]]
    assert texts[:3] == ["plan the migration of the orders table", "Read schema.sql first." if claude_answers else "The user plans the orders table migration.", "go on"]
    assert texts[-2:] == ["next?", "Now backfill."] and len(texts) == 6, "one transcript: the compaction, then what followed it"
    assert {turn["branch"] for turn in stored["turns"]} == {0}


def test_the_compacted_session_is_found_after_a_restart(fake_anthropic, fake_ollama, make_trooper, tmp_path):
    # Which session a compaction was answered in lived in memory alone: after a restart (or on
    # another replica) the resent history naming no session started a new one.
    env = {"CLAUDE_API_KEY": "sk-ant-compaction-0123456789abcdef", "CLAUDE_URL": fake_anthropic.messages_url,
           "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_DB": str(tmp_path / "compactions.db")}  # fmt: skip
    fake_anthropic.default = reply_text("Read schema.sql first.")
    opening = [{"role": "user", "content": "plan the migration of the orders table"}, {"role": "assistant", "content": "Read schema.sql first."},
               {"role": "user", "content": "go on"}]  # fmt: skip
    before = make_trooper(**env)
    with sdk(before) as client:
        made = client.beta.messages.with_raw_response.create(
            model=MODEL, max_tokens=256, betas=[COMPACTION_REQUEST_BETA], messages=opening, compaction={"type": "summarize"},
        )  # fmt: skip
    before.stop()
    compacted = [{"role": "assistant", "content": [made.parse().content[0].model_dump(exclude_none=True)]}, {"role": "user", "content": "next?"}]
    after = make_trooper(**env)
    with sdk(after) as client:
        resumed = client.beta.messages.with_raw_response.create(model=MODEL, max_tokens=256, betas=[COMPACTION_REQUEST_BETA], messages=compacted)
    assert resumed.headers["x-trooper-session"] == made.headers["x-trooper-session"]
