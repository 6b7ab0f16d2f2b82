"""``map_strings``: every string of parsed JSON changed, nothing else, whatever the nesting."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trooper.json_text import map_strings

SKIPPED = "skipped"
_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)
_json = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["a", "b", "text", SKIPPED]) | st.text(max_size=4), inner, max_size=4),
    max_leaves=30,
)


def marked(text: str) -> str:
    return f"<{text}>"


def expected(value: Any, *, keys: bool) -> Any:
    """What ``map_strings(value, marked, skip={SKIPPED})`` must give, spelled out case by case."""
    if isinstance(value, str):
        return marked(value)
    if isinstance(value, list):
        return [expected(item, keys=keys) for item in value]
    if isinstance(value, dict):
        return {(marked(k) if keys else k): v if k == SKIPPED else expected(v, keys=keys) for k, v in value.items()}
    return value


@given(_json, st.booleans())
@settings(deadline=None)  # a loaded machine is slow, not wrong
def test_every_string_changes_and_nothing_else(value: Any, keys: bool) -> None:
    before = json.dumps(value)
    changed = map_strings(value, marked, keys=keys, skip={SKIPPED})
    # compared as JSON text: True and 1, 1.0 and 1 are equal values but not the same JSON
    assert json.dumps(changed) == json.dumps(expected(value, keys=keys))
    assert json.dumps(value) == before  # the input is left as it was


def test_subclasses_of_str_list_and_dict_are_walked_like_their_bases() -> None:
    class Name(str):
        pass

    class Items(list):  # type: ignore[type-arg]
        pass

    class Fields(dict):  # type: ignore[type-arg]
        pass

    value = Fields(a=Items([Name("x"), 1, None]), skipped=Name("y"))
    assert map_strings(value, marked, skip={SKIPPED}) == {"a": ["<x>", 1, None], "skipped": "y"}
