"""Idempotent history: resends add nothing, edits branch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from trooper.conversation import HostedToolBlock, Message, TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock, summary_text
from trooper.memory import transcript as transcript_module
from trooper.memory.transcript import diff_history, message_fingerprint


def user(text: str) -> Message:
    return Message("user", [TextBlock(text)])


def assistant(text: str) -> Message:
    return Message("assistant", [TextBlock(text)])


HISTORY = [
    user("i am building a postgres connection pool in go"),
    assistant("Use pgxpool."),
    user("it times out after 5000ms"),
    assistant("Check rows.Close()."),
]


def test_resent_history_plus_one_turn_adds_exactly_that_turn():
    new_turn = user("found the leak")
    diff = diff_history(HISTORY, HISTORY + [new_turn])
    assert diff.common_prefix == 4
    assert diff.appended == [new_turn]
    assert not diff.branched


def test_identical_resend_changes_nothing():
    diff = diff_history(HISTORY, list(HISTORY))
    assert diff.unchanged and diff.appended == []


def test_edited_turn_starts_a_branch_at_the_edit():
    edited = HISTORY[:2] + [user("it times out after 9000ms"), assistant("Hm.")]
    diff = diff_history(HISTORY, edited)
    assert diff.branched and diff.common_prefix == 2
    assert diff.appended == edited[2:]


def test_truncated_history_is_a_branch_with_nothing_new():
    diff = diff_history(HISTORY, HISTORY[:3])
    assert diff.branched and diff.common_prefix == 3 and diff.appended == []


def test_first_message_of_a_fresh_session_is_appended():
    diff = diff_history([], HISTORY[:1])
    assert diff.appended == HISTORY[:1] and not diff.branched


def test_a_resend_hashes_only_the_messages_that_differ_from_the_stored_ones(monkeypatch):
    hashed: list[Message] = []

    def counting(message: Message) -> str:
        hashed.append(message)
        return message_fingerprint(message)

    monkeypatch.setattr(transcript_module, "message_fingerprint", counting)
    fingerprints = [message_fingerprint(m) for m in HISTORY]
    reformatted = user("  it times out after 5000ms\r\n")  # another form of the same turn
    resent = [user(HISTORY[0].content[0].text), HISTORY[1], reformatted, HISTORY[3], user("found the leak")]
    diff = diff_history(HISTORY, resent, stored_fingerprints=fingerprints)
    assert diff.common_prefix == 4 and not diff.branched and diff.appended == [resent[4]]
    assert hashed == [reformatted]

    # Fingerprints not computed yet (None) are computed where needed, and kept.
    hashed.clear()
    lazy: list[str | None] = [None] * len(HISTORY)
    assert diff_history(HISTORY, resent, stored_fingerprints=lazy) == diff
    assert hashed == [HISTORY[2], reformatted]
    assert lazy == [None, None, fingerprints[2], None]


def test_fingerprint_ignores_block_splitting_whitespace_and_line_endings():
    one_block = Message("user", [TextBlock("hello\nworld")])
    split = Message("user", [TextBlock("  hel"), TextBlock("lo\r\nworld \n")])
    assert message_fingerprint(one_block) == message_fingerprint(split)


def test_fingerprint_ignores_tool_ids_key_order_and_thinking():
    sent = Message(
        "assistant",
        [ThinkingBlock("let me look"), ToolUseBlock("toolu_1", "read", {"path": "a.py", "lines": 10})],
    )
    resent = Message("assistant", [ToolUseBlock("call_9", "read", {"lines": 10, "path": "a.py"})])
    assert message_fingerprint(sent) == message_fingerprint(resent)
    result = Message("user", [ToolResultBlock("toolu_1", [TextBlock("ok ")])])
    assert message_fingerprint(result) == message_fingerprint(Message("user", [ToolResultBlock("call_9", [TextBlock("ok")])]))


def test_fingerprint_tells_apart_what_matters():
    base = message_fingerprint(user("hello"))
    assert message_fingerprint(assistant("hello")) != base
    assert message_fingerprint(user("hello!")) != base
    failed = Message("user", [ToolResultBlock("t", [TextBlock("boom")], is_error=True)])
    passed = Message("user", [ToolResultBlock("t", [TextBlock("boom")])])
    assert message_fingerprint(failed) != message_fingerprint(passed)
    assert message_fingerprint(Message("assistant", [ToolUseBlock("t", "a", {})])) != message_fingerprint(
        Message("assistant", [ToolUseBlock("t", "b", {})])
    )


texts = st.text(min_size=1, max_size=40).filter(lambda s: s.strip())


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=12), texts)
def test_any_resend_with_one_new_turn_adds_one(turn_texts, new_text):
    stored = [user(t) if i % 2 == 0 else assistant(t) for i, t in enumerate(turn_texts)]
    role_of_next = user if len(stored) % 2 == 0 else assistant
    resent = [Message(m.role, [TextBlock(f"  {m.content[0].text}  ")]) for m in stored]  # type: ignore[union-attr]
    diff = diff_history(stored, resent + [role_of_next(new_text)])
    assert len(diff.appended) == 1 and not diff.branched and diff.common_prefix == len(stored)


def test_package_exports_the_public_api():
    import trooper.memory as memory

    assert sorted(memory.__all__) == sorted(
        [
            "Compacted",
            "ContextTooLarge",
            "HistoryDiff",
            "Sitrep",
            "SitrepBuilder",
            "build_recovery",
            "compact",
            "count_message_tokens",
            "count_request_tokens",
            "count_tokens",
            "diff_history",
            "extract_sitrep",
            "message_fingerprint",
            "minimum_budget",
            "render_sitrep",
        ]
    )
    assert all(hasattr(memory, name) for name in memory.__all__)


def _compaction(summary: str, **more: object) -> Message:
    return Message("assistant", [HostedToolBlock({"type": "compaction", "content": summary, **more}, host="anthropic")])


def test_a_history_opening_with_a_stored_compaction_continues_after_it():
    ask, compacted = Message("user", [TextBlock("plan the migration")]), _compaction("The user plans the migration.", signature="s")
    stored = [ask, Message("assistant", [TextBlock("Read the schema.")]), Message("user", [TextBlock("go on")]), compacted]
    new = Message("user", [TextBlock("next?")])
    # As the SDK resends it (its model's dump, without the null fields), in place of all it summarises.
    diff = diff_history(stored, [_compaction("The user plans the migration.\n", signature="s"), new])
    assert (diff.common_prefix, diff.appended, diff.branched, diff.resumed_at) == (4, [new], False, 3)
    # Another model's summary, recorded as its text, and the compaction block the client got of it.
    as_text = [*stored[:3], Message("assistant", [TextBlock("The user plans the migration.")])]
    assert diff_history(as_text, [_compaction("The user plans the migration.", encrypted_content="trooper.summary"), new]).resumed_at == 3
    # A compaction the session does not hold starts a branch, as any other edited history.
    other = diff_history(stored, [_compaction("Something else."), new])
    assert (other.common_prefix, other.branched, other.resumed_at) == (0, True, 0)


def test_a_history_holding_a_stored_summary_continues_after_it():
    # Codex after /v1/responses/compact: the user's own messages, then the summary the session's
    # compaction turn wrote, in place of everything else, then the new turn.
    ask, go_on = Message("user", [TextBlock("plan the migration")]), Message("user", [TextBlock("go on")])
    prompt, summary = Message("user", [TextBlock("Summarise the conversation.")]), Message("assistant", [TextBlock("The user plans the migration.\n")])
    stored = [ask, Message("assistant", [TextBlock("Read the schema.")]), go_on, prompt, summary]
    new = Message("user", [TextBlock("next?")])
    compacted = [ask, Message("user", [TextBlock("go on"), TextBlock(summary_text("The user plans the migration."))]), new]
    diff = diff_history(stored, compacted)
    assert (diff.common_prefix, diff.appended, diff.branched, diff.resumed_at, diff.incoming_at) == (5, [new], False, 5, 2)
    # The next turn resends the compacted history with what followed: only the newest turn is new.
    answered = [*stored, new, Message("assistant", [TextBlock("Backfill next.")])]
    newer = Message("user", [TextBlock("and then?")])
    assert diff_history(answered, [*compacted, answered[-1], newer]).appended == [newer]
    # An edit after the summary branches there; a summary the session did not write, at the start.
    edited = diff_history(answered, [*compacted[:2], Message("user", [TextBlock("something else")])])
    assert (edited.common_prefix, edited.branched, edited.resumed_at, edited.incoming_at) == (5, True, 5, 2)
    foreign = [ask, Message("user", [TextBlock(summary_text("Another summary."))]), new]
    assert (diff_history(stored, foreign).common_prefix, diff_history(stored, foreign).branched) == (1, True)
