"""Which messages are looked at: those a session has not seen, with the texts a secret can hide in."""

from __future__ import annotations

from trooper.conversation import HostedToolBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock
from trooper.privacy import compile_rules
from trooper.privacy.turns import SYSTEM_TURN, find_in_system, find_in_turns, message_texts, unseen_from, where

KEY = "AKIAQ3EGRTW5J2KD7XPL"


def user(text: str) -> Message:
    return Message("user", [TextBlock(text)])


def test_only_the_messages_a_session_has_not_seen_are_looked_at():
    history = [user(f"old {KEY}"), Message("assistant", [TextBlock("ok")]), user("new question")]
    assert unseen_from(2, history) == 2
    assert find_in_turns(history, unseen_from(2, history), compile_rules([], [])) == []
    # a rewritten (shorter) history: its last run of user messages is new
    assert unseen_from(5, history) == 2
    assert [f.turn for f in find_in_turns(history, 0, compile_rules([], []))] == [0]


def test_tool_results_and_tool_call_paths_are_looked_at():
    rules = compile_rules([], ["**/.env"])
    messages = [
        Message("assistant", [ToolUseBlock("t1", "Read", {"file_path": "/srv/app/.env"})]),
        Message("user", [ToolResultBlock("t1", [TextBlock(f"AWS_ACCESS_KEY_ID={KEY}")])]),
    ]
    found = find_in_turns(messages, 0, rules)
    assert [(f.turn, f.finding.kind) for f in found] == [(0, "private_path"), (1, "aws_access_key")]
    assert found[1].describe() == {"finding": "aws_access_key", "category": "secret", "turn": 1}


def test_openai_s_built_in_tool_items_are_looked_at_but_their_ids():
    item = {"id": "ws_1", "type": "web_search_call", "action": {"type": "search", "query": f"leak {KEY}"}, "call_id": "c_9"}
    message = Message("assistant", [HostedToolBlock(item)])
    assert list(message_texts(message)) == ["web_search_call", "search", f"leak {KEY}"]
    assert [f.finding.kind for f in find_in_turns([message], 0, compile_rules([], []))] == ["aws_access_key"]


def test_system_prompt_findings_are_at_the_system_turn():
    found = find_in_system(f"Deploy with AWS_ACCESS_KEY_ID={KEY}", compile_rules([], []))
    assert [(f.turn, f.finding.kind) for f in found] == [(SYSTEM_TURN, "aws_access_key")]
    assert find_in_system(None, compile_rules([], [])) == []
    assert (where(SYSTEM_TURN), where(0)) == ("the system prompt", "turn 1")
