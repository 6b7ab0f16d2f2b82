"""``compact_json.encode``: the text ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trooper.wire import compact_json

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@given(JSON_VALUES)
def test_the_same_text_as_json_dumps(value: Any) -> None:
    assert compact_json.encode(value) == reference(value)


def test_the_same_text_for_what_plain_json_holds_apart() -> None:
    """Booleans, integers and floats Python finds equal are written apart; text is not escaped
    past JSON's own escapes; a tuple is an array."""
    value = {"strict": True, "one": 1, "real": 1.0, "negative zero": -0.0, "text": 'é "q" \n\u2028 😀', "tuple": (1, None)}
    assert compact_json.encode(value) == reference(value)


def test_what_json_cannot_hold_is_refused_as_json_dumps_refuses_it() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        compact_json.encode({"when": object()})


@given(st.text())
def test_a_string_is_written_as_encode_writes_it(text: str) -> None:
    assert compact_json.string(text) == compact_json.encode(text) == reference(text)
