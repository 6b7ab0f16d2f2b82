"""branch_view: which turns make up a branch's transcript; first_words: a session's opening line."""

from __future__ import annotations

from trooper.store.base import branch_view, first_words


def turn(branch: int, seq: int) -> dict[str, int]:
    return {"branch": branch, "seq": seq}


def test_no_turns() -> None:
    assert branch_view([]) == []


def test_forks_stack_on_the_branch_below() -> None:
    turns = [turn(0, s) for s in range(5)] + [turn(1, s) for s in (2, 3)] + [turn(2, 3)]
    assert branch_view(turns) == [turn(0, 0), turn(0, 1), turn(1, 2), turn(2, 3)]
    assert branch_view(turns, 1) == [turn(0, 0), turn(0, 1), turn(1, 2), turn(1, 3)]
    assert branch_view(turns, 0) == [turn(0, s) for s in range(5)]


def test_a_branch_holding_the_whole_history_is_read_as_is() -> None:
    turns = [turn(0, s) for s in range(3)] + [turn(1, s) for s in range(2)]
    assert branch_view(list(reversed(turns))) == [turn(1, 0), turn(1, 1)]


def test_first_words_fold_whitespace_and_cut_at_a_word() -> None:
    assert first_words("Fix the  flaky\nlogin test") == "Fix the flaky login test"
    long = "Please add retries with exponential backoff to the payments client in billing-api, then run the tests"
    assert first_words(long, limit=40) == "Please add retries with exponential…"
    assert first_words("x" * 50, limit=10) == "x" * 10 + "…"


def test_first_words_skip_the_context_claude_code_adds() -> None:
    text = "<system-reminder>\nAs you answer, use CLAUDE.md:\n# Rules\n</system-reminder>\nWhy does CI fail on main?"
    assert first_words(text) == "Why does CI fail on main?"
