"""Session identity: explicit headers win; otherwise stable across resends, distinct across conversations."""

from __future__ import annotations

import pytest

from trooper.conversation import Message, Request, TextBlock
from trooper.memory.identity import InvalidSessionId, session_id_for


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
