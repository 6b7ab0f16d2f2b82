"""Session identity: the ids clients really send, derived ids stable across resends, child ids."""

from __future__ import annotations

import re

import pytest

from trooper.conversation import Message, Request, TextBlock
from trooper.memory.identity import (
    ClientIds,
    InvalidSessionId,
    agent_key,
    child_session_id,
    client_ids,
    client_name,
    derived_session_id,
    opening_key,
    opening_of,
)


def request(*texts: str, system: str | None = None, user: str | None = None) -> Request:
    roles = ["user", "assistant"]
    messages = [Message(roles[i % 2], [TextBlock(t)]) for i, t in enumerate(texts)]
    return Request(model="m", messages=messages, system=system, metadata={"user_id": user} if user else {})


def test_explicit_headers_win_in_order():
    assert client_ids({"x-session-id": "abc", "x-claude-code-session-id": "cc"}).session == "abc"
    assert client_ids({"x-claude-code-session-id": "cc-1"}) == ClientIds("cc-1")
    assert client_ids({}) == ClientIds()


def test_claude_code_names_its_subagents():
    headers = {"x-claude-code-session-id": "cc", "x-claude-code-agent-id": "a7", "x-claude-code-parent-agent-id": "a1"}
    assert client_ids(headers) == ClientIds("cc", "a7", "a1")
    assert client_ids({**headers, "x-session-id": "mine"}) == ClientIds("mine", "a7", "a1")


@pytest.mark.parametrize("session_header", ["session-id", "session_id"])
def test_codex_session_and_threads(session_header):
    assert client_ids({session_header: "cx"}) == ClientIds("cx")
    assert client_ids({session_header: "cx", "thread-id": "cx"}) == ClientIds("cx"), "the main thread"
    spawned = {session_header: "cx", "thread-id": "t2", "x-codex-parent-thread-id": "cx"}
    assert client_ids(spawned) == ClientIds("cx", "t2")
    nested = {session_header: "cx", "thread-id": "t3", "x-codex-parent-thread-id": "t2"}
    assert client_ids(nested) == ClientIds("cx", "t3", "t2")


def test_resent_history_keeps_the_id():
    first = derived_session_id(request("i am building a pool"))
    later = derived_session_id(request("i am building a pool", "ok", "what next?"))
    assert first == later and first.startswith("s-")


def test_different_openings_system_prompts_and_users_differ():
    base = derived_session_id(request("hello"))
    assert derived_session_id(request("hello there")) != base
    assert derived_session_id(request("hello", system="be terse")) != base
    assert derived_session_id(request("hello", user="alice")) != base


def test_another_conversation_differs_in_both_its_system_prompt_and_its_first_user_turn():
    main = opening_of(request("fix the login bug", system="You are Claude Code"))
    assert opening_of(request("fix the login bug", "on it", "go on", system="You are Claude Code")) == main
    compacted = opening_of(request("Summary of the conversation so far: …", system="You are Claude Code"))
    side_request = opening_of(request("fix the login bug", system="Write a 5-word title"))
    subagent = opening_of(request("Find where sessions are stored", system="You are a search agent"))
    assert not compacted.starts_another(main) and not side_request.starts_another(main)
    assert subagent.starts_another(main)


def test_child_ids_are_deterministic_distinct_and_url_safe():
    opening = opening_of(request("Find the store", system="search agent"))
    ids = {
        child_session_id("cc/1", agent_key("a1")),
        child_session_id("cc/1", agent_key("a2")),
        child_session_id("cc/2", agent_key("a1")),
        child_session_id("cc/1", opening_key(opening)),
    }
    assert len(ids) == 4
    assert child_session_id("cc/1", agent_key("a1")) in ids
    assert all(re.fullmatch(r"sub-[0-9a-f]{20}", child) for child in ids)


@pytest.mark.parametrize("bad", ["<script>", "a b", "x" * 200, "é"])
@pytest.mark.parametrize("header, others", [
    ("x-session-id", {}), ("x-claude-code-agent-id", {"x-claude-code-session-id": "cc"}), ("session-id", {}),
    ("thread-id", {"session-id": "cx"}),
])
def test_unsafe_ids_are_refused(bad, header, others):
    with pytest.raises(InvalidSessionId, match=header):
        client_ids({**others, header: bad})


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("claude-cli/2.0.0 (external, cli)", "Claude Code"),
        ("Anthropic/Python 0.40.0", "anthropic-python"),
        ("OpenAI/Python 1.50.0", "openai-python"),
        ("OpenAI/JS 4.67.0", "openai-node"),
        ("trooper-notebook/0.1.0", "notebook"),
        ("curl/8.5.0", "curl"),
        ("python-httpx/0.27.0", "python-httpx"),
        ("", ""),
    ],
)
def test_a_client_is_named_from_its_user_agent(user_agent, expected):
    assert client_name({"user-agent": user_agent}) == expected


def test_claude_code_is_known_by_its_session_header_and_a_browser_on_the_chat_api_is_the_chat_page():
    assert client_name({"user-agent": "node", "x-claude-code-session-id": "cc-1"}) == "Claude Code"
    browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}
    assert client_name(browser, chat_api=True) == "chat page"
    assert client_name(browser) == "Mozilla", "a browser calling the proxy itself is not the chat page"
