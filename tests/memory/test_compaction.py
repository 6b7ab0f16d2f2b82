"""ANCHOR / SITREP / TAIL compaction: the budget, the verbatim guarantees, a valid conversation."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.memory.conversations import conversations, validity_problems
from trooper.conversation import Message, Request, TextBlock, Tool, ToolResultBlock, ToolUseBlock
from trooper.memory.compaction import REGROWTH_SHARE, ContextTooLarge, bridge_message, compact, minimum_budget
from trooper.memory.tokens import count_message_tokens, count_request_tokens, count_tokens

TOOLS = [Tool("bash", "Run a shell command", {"type": "object", "properties": {"command": {"type": "string"}}})]
SYSTEM = "You are a careful coding agent. " * 20
BRIDGE = count_message_tokens(bridge_message(10**6, with_sitrep=True))
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def latest_user(messages: list[Message]) -> Message:
    return next(m for m in reversed(messages) if m.role == "user")


def anchor_of(messages: list[Message]) -> list[Message]:
    return messages[:3] if messages[1].tool_uses() else messages[:2]


@PROPERTY
@given(conversations(), st.floats(0, 1.3), st.booleans())
def test_any_budget_at_or_above_the_minimum_is_respected(messages, fraction, with_system):
    system = SYSTEM if with_system else None
    floor = minimum_budget(messages, system=system, tools=TOOLS)
    total = count_request_tokens(system, messages, TOOLS)
    budget = floor + int(fraction * max(0, total - floor))
    result = compact(messages, budget, system=system, tools=TOOLS)
    assert result.kept_tokens == count_request_tokens(result.system, result.messages, TOOLS)
    assert result.kept_tokens <= budget
    assert validity_problems(result.messages) == []
    assert latest_user(messages) in result.messages  # verbatim: the very same message
    assert result.messages[-1] is messages[-1]
    if total <= budget:
        assert result.messages is messages and result.system == system and result.dropped_turns == 0


@PROPERTY
@given(conversations().filter(lambda m: len(m) >= 4), st.floats(1.25, 3.0))
def test_the_anchor_is_kept_whenever_the_budget_allows_it(messages, slack):
    # Specified bound: anchor + minimal tail + bridge (and the fixed parts) within 80% of the
    # budget leaves the SITREP its 20% and keeps the anchor, verbatim (the same objects).
    anchor = anchor_of(messages)
    # By identity: an equal message may open the conversation too (list.index compares by value).
    latest = next(i for i in reversed(range(len(messages))) if messages[i] is latest_user(messages))
    # The smallest tail that may follow the anchor: after an anchor ending in tool results the
    # tail must open with the assistant turn before the latest user turn.
    opens_with_assistant = messages[latest].tool_results() or anchor[-1].role == "user"
    minimal_tail = messages[latest - 1 :] if opens_with_assistant else messages[latest:]
    assume(len(anchor) + len(minimal_tail) <= len(messages) - 1)
    needed = count_request_tokens(SYSTEM, anchor + minimal_tail, TOOLS) + BRIDGE
    result = compact(messages, int(needed * slack), system=SYSTEM, tools=TOOLS)
    assert all(a is b for a, b in zip(result.messages, anchor, strict=False))
    assert len(result.messages) > len(anchor)


@PROPERTY
@given(conversations().filter(lambda m: len(m) >= 4), st.floats(0, 1.0), st.integers(1, 6))
def test_a_reused_cut_respects_the_budget_and_the_guarantees(messages, fraction, grown_by):
    earlier = messages[: len(messages) - grown_by]
    assume(earlier and any(m.role == "user" for m in earlier))
    floor = max(minimum_budget(earlier, system=SYSTEM, tools=TOOLS), minimum_budget(messages, system=SYSTEM, tools=TOOLS))
    budget = floor + int(fraction * max(0, count_request_tokens(SYSTEM, earlier, TOOLS) - floor))
    cut = compact(earlier, budget, system=SYSTEM, tools=TOOLS).cut
    result = compact(messages, budget, system=SYSTEM, tools=TOOLS, previous=cut)
    assert result.kept_tokens == count_request_tokens(result.system, result.messages, TOOLS) <= budget
    assert validity_problems(result.messages) == []
    assert latest_user(messages) in result.messages and result.messages[-1] is messages[-1]


@PROPERTY
@given(conversations())
def test_below_the_minimum_the_error_says_so(messages):
    floor = minimum_budget(messages, tools=TOOLS)
    with pytest.raises(ContextTooLarge) as raised:
        compact(messages, floor - 1, tools=TOOLS)
    assert raised.value.status == 413 and raised.value.needed == floor


def long_session(turns: int, words: int = 200) -> list[Message]:
    messages = [Message("user", [TextBlock("i am building a postgres connection pool in go")])]
    for index in range(turns):
        messages.append(Message("assistant", [TextBlock(f"Completed PR #{index + 1}. " + "detail " * words)]))
        messages.append(Message("user", [TextBlock(f"turn {index}: the pool still times out after 5000ms " + "log " * words)]))
    return messages


def test_fitting_conversation_is_returned_unchanged():
    messages = long_session(2, words=5)
    request = Request(model="m", messages=messages, system="be brief", tools=TOOLS)
    result = compact(request, 10_000)
    assert result.messages is messages and result.system == "be brief"
    assert (result.dropped_turns, result.dropped_tokens, result.sitrep_injected) == (0, 0, False)


def test_long_session_keeps_anchor_and_tail_and_summarises_the_middle():
    messages = long_session(60)
    result = compact(Request(model="m", messages=messages, system="be brief"), 4_000)
    assert result.kept_tokens <= 4_000
    assert result.messages[:2] == messages[:2]
    assert result.messages[-1] is messages[-1]
    assert result.sitrep_injected and "[TROOPER_SITREP]" in (result.system or "")
    assert result.system.startswith("be brief")  # type: ignore[union-attr]
    assert "building a postgres connection pool in go" in result.system  # type: ignore[operator]
    assert result.dropped_turns == len(messages) - len(result.messages) + (1 if _has_bridge(result.messages) else 0)
    dropped = [m for m in messages if m not in result.messages]
    assert result.dropped_tokens == sum(count_message_tokens(m) for m in dropped)
    tail_share = sum(count_message_tokens(m) for m in result.messages[2:]) / 4_000
    assert tail_share >= 0.5  # the tail gets the bulk of the budget


def _has_bridge(messages: list[Message]) -> bool:
    return any(m.role == "user" and m.text().startswith("[Trooper:") for m in messages)


def test_agent_loop_tail_opening_with_a_tool_call_gets_a_bridge_turn():
    messages = [
        Message("user", [TextBlock("fix the failing test in tests/test_parser.py")]),
        Message("assistant", [TextBlock("I'll start by running the test suite.")]),
        Message("user", [TextBlock("go ahead")]),
    ]
    for index in range(40):
        messages.append(Message("assistant", [ToolUseBlock(f"t{index}", "bash", {"command": "pytest -q " + "x" * 200})]))
        messages.append(Message("user", [ToolResultBlock(f"t{index}", [TextBlock("1 failed " * 80)])]))
    result = compact(messages, 2_000, tools=TOOLS)
    assert validity_problems(result.messages) == []
    assert result.messages[0] is messages[0]
    assert _has_bridge(result.messages)
    assert result.messages[-2] is messages[-2] and result.messages[-1] is messages[-1]


def test_shrink_order_anchor_goes_before_the_sitrep_is_cut():
    messages = long_session(30, words=100)
    anchor_tokens = sum(count_message_tokens(m) for m in messages[:2])
    tail_tokens = count_message_tokens(messages[-1])
    budget = tail_tokens + anchor_tokens // 2 + 120
    result = compact(messages, budget)
    assert result.messages[0] is not messages[0]  # the anchor is gone
    assert result.kept_tokens <= budget
    assert result.messages[-1] is messages[-1]


def test_last_resort_cuts_the_system_prompt_never_the_latest_turn():
    messages = long_session(3, words=50)
    system = "Rules. " * 2_000
    budget = minimum_budget(messages) + 50
    result = compact(messages, budget, system=system)
    assert result.messages == [messages[-1]]
    assert result.system is None or len(result.system) < len(system)
    assert result.kept_tokens <= budget


def test_last_resort_cuts_the_text_of_the_answered_tool_call():
    call = Message("assistant", [TextBlock("Let me look. " * 300), ToolUseBlock("t1", "bash", {"command": "ls"})])
    answer = Message("user", [ToolResultBlock("t1", [TextBlock("a.py b.py")])])
    messages = [
        Message("user", [TextBlock("list the files " * 200)]),
        Message("assistant", [TextBlock("ok")]),
        Message("user", [TextBlock("go")]),
        call,
        answer,
    ]
    budget = minimum_budget(messages, tools=TOOLS) + 30
    result = compact(messages, budget, tools=TOOLS)
    assert result.kept_tokens <= budget
    assert validity_problems(result.messages) == []
    assert result.messages[-1] is answer
    shortened = result.messages[-2]
    assert shortened.tool_uses() == call.tool_uses() and count_tokens(shortened.text()) < count_tokens(call.text())


def test_latest_turn_larger_than_the_budget_is_a_clear_error():
    messages = [Message("user", [TextBlock("word " * 5_000)])]
    with pytest.raises(ContextTooLarge, match="latest user turn"):
        compact(messages, 1_000)


def exchange(index: int, words: int = 60) -> list[Message]:
    return [
        Message("assistant", [TextBlock(f"Answer {index}: " + "detail " * words)]),
        Message("user", [TextBlock(f"question {index}: and the retry budget? " + "log " * words)]),
    ]


def test_the_next_turns_are_cut_where_the_last_was_so_the_prompt_only_grows():
    """A local model reuses what its last prompt shares with the new one: while the conversation
    grows into the room the cut left, each compaction sends the last one's prompt and the new turns."""
    messages = long_session(40, words=60)
    budget = 4_000
    first = compact(messages, budget, system=SYSTEM)
    assert first.cut is not None and first.dropped_turns
    previous, reused = first, 0
    for index in range(40, 60):
        messages = [*messages, *exchange(index)]
        result = compact(messages, budget, system=SYSTEM, previous=previous.cut)
        assert result.kept_tokens == count_request_tokens(result.system, result.messages, []) <= budget
        assert validity_problems(result.messages) == [] and result.messages[-1] is messages[-1]
        if result.cut is previous.cut:  # cut where it was: the last prompt, then the new turns
            reused += 1
            assert result.system == previous.system
            assert result.messages[: len(previous.messages)] == previous.messages
            assert result.messages[len(previous.messages):] == messages[-2:]
        else:  # no room left: cut anew, leaving room again
            assert result.cut is not None and result.kept_tokens <= budget * (1 - REGROWTH_SHARE) + count_message_tokens(messages[-1])
        previous = result
    assert reused >= 12, reused  # ~300 tokens a turn into the ~800 the cut leaves, then again


def test_a_cut_is_not_reused_for_another_conversation_or_budget():
    messages = long_session(40, words=60)
    first = compact(messages, 4_000, system=SYSTEM)
    grown = [*messages, *exchange(40)]
    edited = [Message("user", [TextBlock("a different opening question")]), *grown[1:]]
    for conversation, budget, system in ((edited, 4_000, SYSTEM), (grown, 3_500, SYSTEM), (grown, 4_000, "other rules")):
        result = compact(conversation, budget, system=system, previous=first.cut)
        assert result.cut is not first.cut and result.kept_tokens <= budget
    resent = [Message(m.role, [TextBlock(b.text, cache_control={"type": "ephemeral"}) for b in m.content]) for m in grown]  # type: ignore[union-attr]
    assert compact(resent, 4_000, system=SYSTEM, previous=first.cut).cut is first.cut, "a cache hint is no change to a local model"
