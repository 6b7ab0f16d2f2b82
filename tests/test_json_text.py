"""``map_strings``: every string of parsed JSON changed, nothing else, whatever the nesting;
``map_strings_shared``: the same, sharing what it leaves as it is."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from trooper.json_text import map_strings, map_strings_shared, strings

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


def marked_if_a(text: str) -> str:
    """Changes only texts holding an ``a``; gives the others back equal, as a new object."""
    return marked(text) if "a" in text else "".join(list(text))


def shared_parts(value: Any, result: Any) -> bool:
    """Each list and object of ``value`` holding no ``a`` (where ``marked_if_a`` changes nothing)
    is the very one in ``result``; the others are new."""
    if isinstance(value, (list, dict)):
        holds_a = any("a" in text for text in strings(value, skip={SKIPPED}))
        if (result is value) == holds_a:
            return False
        pairs = zip(value, result) if isinstance(value, list) else ((value[k], result[k]) for k in value if k != SKIPPED)
        return all(shared_parts(item, walked) for item, walked in pairs)
    return True


@given(_json, st.sets(st.text(alphabet="bc", max_size=2), max_size=3))
@settings(deadline=None)
def test_the_shared_walk_gives_what_map_strings_gives_sharing_what_it_leaves(value: Any, as_is: set[str]) -> None:
    """The same value and the same calls as ``map_strings``, but none for strings in ``as_is``
    (here texts without an ``a``, which ``marked_if_a`` leaves as they are)."""
    before = json.dumps(value)
    calls: list[str] = []
    plain = map_strings(value, lambda text: calls.append(text) or marked_if_a(text), skip={SKIPPED})
    shared_calls: list[str] = []
    shared = map_strings_shared(value, lambda text: shared_calls.append(text) or marked_if_a(text), skip={SKIPPED}, as_is=as_is)
    assert json.dumps(shared) == json.dumps(plain) and shared_calls == [text for text in calls if text not in as_is]
    assert json.dumps(value) == before  # the input is left as it was
    assert shared_parts(value, shared)
