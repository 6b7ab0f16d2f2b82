"""Session identity: explicit headers win; otherwise stable across resends, distinct across conversations."""

from __future__ import annotations

import pytest

from trooper.conversation import Message, Request, TextBlock
from trooper.memory.identity import InvalidSessionId, client_name, session_id_for


def request(*texts: str, system: str | None = None, user: str | None = None) -> Request:
    roles = ["user", "assistant"]
    messages = [Message(roles[i % 2], [TextBlock(t)]) for i, t in enumerate(texts)]
    return Request(model="m", messages=messages, system=system, metadata={"user_id": user} if user else {})


def test_explicit_headers_win_in_order():
    assert session_id_for({"x-session-id": "abc", "x-claude-code-session-id": "cc"}, request("hi")) == "abc"
    assert session_id_for({"x-claude-code-session-id": "cc-1"}, request("hi")) == "cc-1"


def test_resent_history_keeps_the_id():
    first = session_id_for({}, request("i am building a pool"))
    later = session_id_for({}, request("i am building a pool", "ok", "what next?"))
    assert first == later and first.startswith("s-")


def test_different_openings_system_prompts_and_users_differ():
    base = session_id_for({}, request("hello"))
    assert session_id_for({}, request("hello there")) != base
    assert session_id_for({}, request("hello", system="be terse")) != base
    assert session_id_for({}, request("hello", user="alice")) != base


@pytest.mark.parametrize("bad", ["<script>", "a b", "x" * 200, "é"])
def test_unsafe_explicit_ids_are_refused(bad):
    with pytest.raises(InvalidSessionId):
        session_id_for({"x-session-id": bad}, request("hi"))


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
