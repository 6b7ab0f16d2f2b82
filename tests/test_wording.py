"""counted: one of anything is singular, every other count plural."""

from __future__ import annotations

import pytest

from trooper.wording import counted


@pytest.mark.parametrize(("count", "expected"), [(0, "0 turns"), (1, "1 turn"), (2, "2 turns"), (21, "21 turns")])
def test_counted_is_singular_only_for_one(count: int, expected: str) -> None:
    assert counted(count, "turn") == expected


def test_counted_takes_an_irregular_plural() -> None:
    assert (counted(1, "entry", "entries"), counted(3, "entry", "entries")) == ("1 entry", "3 entries")
