"""Claude's message threads through the Messages door (``server/message_threads.py``), with the
official anthropic SDK's own thread and tool runner (strict validation): the client sends each
turn's new messages only, Trooper holds the conversation, and every upstream gets all of it, no
``thread`` among it; a message Trooper holds no thread for is ``thread_not_found``, on which the
SDK resends the whole conversation under a new thread."""

from __future__ import annotations

import sqlite3

import anthropic
import httpx
import pytest
from anthropic import beta_tool

from tests.fakes.behaviours import overloaded, reply_text, reply_tool_calls, tool_call
from tests.server.test_claude_server_tools import chats, sdk
from trooper.server.message_threads import MessageThreads

MODEL = "claude-sonnet-4-6"
CLOUD = {"X-Trooper-Route": "cloud"}


def texts(messages: list[dict]) -> list[str]:
    return [m["content"] if isinstance(m["content"], str) else " ".join(b.get("text", b["type"]) for b in m["content"]) for m in messages]


def test_a_thread_sends_only_new_messages_and_every_upstream_gets_the_whole_conversation(claude_and_ollama, fake_anthropic, fake_ollama):
    fake_anthropic.default = reply_text("Read schema.sql first.")
    fake_ollama.default = reply_text("Then backfill in batches.")
    with sdk(claude_and_ollama) as client:
        thread = client.beta.messages.thread(model=MODEL, max_tokens=256, extra_headers=CLOUD)
        first = thread.send({"role": "user", "content": "plan the migration of the orders table"})
        fake_anthropic.default = overloaded()  # the next turn falls back to the local model
        second = thread.send({"role": "user", "content": "and after that?"})
        fake_anthropic.default = reply_text("Done: verify the row counts.")
        third = thread.send({"role": "user", "content": "last step?"})
    assert [first.content[0].text, second.content[0].text, third.content[0].text] == [
        "Read schema.sql first.", "Then backfill in batches.", "Done: verify the row counts.",
    ]  # fmt: skip
    whole = ["plan the migration of the orders table", "Read schema.sql first.", "and after that?", "Then backfill in batches.", "last step?"]
    assert texts(chats(fake_ollama)[0].json["messages"]) == whole[:3]
    assert texts(fake_anthropic.requests[-1].json["messages"]) == whole
    assert all("thread" not in r.json for r in fake_anthropic.requests), "Trooper holds the thread; Claude gets the conversation"
    sessions = httpx.get(f"{claude_and_ollama.url}/sessions", timeout=10).json()["sessions"]
    assert len(sessions) == 1 and sessions[0]["turn_count"] == 6


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_the_sdk_tool_runner_threads_its_tool_loop_through_trooper(claude_and_ollama, fake_anthropic, stream):
    @beta_tool
    def row_count(table: str) -> str:
        """How many rows a table holds."""
        return f"{table}: 1200 rows"

    fake_anthropic.enqueue(reply_tool_calls(tool_call("row_count", {"table": "orders"})), reply_text("The orders table holds 1200 rows."))
    with sdk(claude_and_ollama) as client:
        runner = client.beta.messages.tool_runner(
            model=MODEL, max_tokens=256, tools=[row_count], stream=stream, extra_headers=CLOUD,
            messages=[{"role": "user", "content": "how many orders are there?"}],
        )  # fmt: skip
        final = runner.until_done()
    assert final.content[-1].text == "The orders table holds 1200 rows."
    with sdk(claude_and_ollama) as client:  # the runner threads its turns (the SDK's default): its answer goes on
        client.beta.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "thanks"}],
            thread={"type": "continue", "previous_message_id": final.id}, extra_headers=CLOUD,
        )  # fmt: skip
    assert texts(fake_anthropic.requests[-1].json["messages"])[0] == "how many orders are there?"
    second = fake_anthropic.requests[1].json["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"], "the tool call resent with its result"
    assert second[2]["content"][0]["type"] == "tool_result" and second[2]["content"][0]["content"][0]["text"] == "orders: 1200 rows"


def test_a_message_no_thread_holds_is_thread_not_found_and_the_sdk_resends_the_conversation(fake_anthropic, fake_ollama, make_trooper, tmp_path):
    fake_anthropic.default = reply_text("Noted.")
    database = tmp_path / "threads.db"
    claude_and_ollama = make_trooper(
        CLAUDE_API_KEY="sk-ant-thread-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
        FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_DB=str(database),
    )  # fmt: skip
    with sdk(claude_and_ollama) as client:
        with pytest.raises(anthropic.NotFoundError) as raised:
            client.beta.messages.create(
                model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "and then?"}],
                thread={"type": "continue", "previous_message_id": "msg_gone"}, extra_headers=CLOUD,
            )  # fmt: skip
        assert raised.value.body["error"]["details"] == {"error_code": "thread_not_found"}
        assert fake_anthropic.requests == [] and httpx.get(f"{claude_and_ollama.url}/sessions", timeout=10).json()["sessions"] == []
        thread = client.beta.messages.thread(model=MODEL, max_tokens=64, extra_headers=CLOUD)
        thread.send({"role": "user", "content": "first"})
        claude_and_ollama.flush()
        with sqlite3.connect(database) as conn:  # a place the store no longer holds (its session pruned)
            conn.execute("DELETE FROM message_threads")
        services = claude_and_ollama.runtime.state.services
        services.threads = MessageThreads(claude_and_ollama.runtime.store)
        again = thread.send({"role": "user", "content": "second"})
    assert again.content[0].text == "Noted."
    assert texts(fake_anthropic.requests[-1].json["messages"]) == ["first", "Noted.", "second"], "the SDK resent it all"


def test_a_thread_goes_on_after_a_restart(fake_anthropic, fake_ollama, make_trooper, tmp_path):
    # Its places were held in memory alone: after a restart (or on another replica) every thread
    # was thread_not_found, and the SDK resent the whole conversation.
    fake_anthropic.default = reply_text("Noted.")
    env = {"CLAUDE_API_KEY": "sk-ant-thread-0123456789abcdef", "CLAUDE_URL": fake_anthropic.messages_url,
           "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_DB": str(tmp_path / "threads.db")}  # fmt: skip
    before = make_trooper(**env)
    with sdk(before) as client:
        first = client.beta.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "first"}], thread={"type": "create"}, extra_headers=CLOUD,
        )  # fmt: skip
    before.stop()
    after = make_trooper(**env)
    with sdk(after) as client:
        client.beta.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "second"}],
            thread={"type": "continue", "previous_message_id": first.id}, extra_headers=CLOUD,
        )  # fmt: skip
    assert texts(fake_anthropic.requests[-1].json["messages"]) == ["first", "Noted.", "second"]
