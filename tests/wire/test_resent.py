"""``Resent``: a value met before is given back, with the JSON text made for it once."""

from __future__ import annotations

import json
from typing import Any

from trooper.wire.resent import Resent

TOOLS = [{"type": "function", "name": "deploy", "parameters": {"type": "object", "properties": {}}, "strict": True}]


def counting() -> tuple[Resent, list[Any]]:
    encoded: list[Any] = []

    def encode(value: Any) -> str:
        encoded.append(value)
        return json.dumps(value, separators=(",", ":"))

    return Resent(encode, 2), encoded


def test_a_value_met_before_is_given_back_with_its_text_made_once() -> None:
    resent, encoded = counting()
    first = json.loads(json.dumps(TOOLS))  # parsed, as each request's are
    kept, text = resent.get(first)
    again, same_text = resent.get(json.loads(json.dumps(TOOLS)))
    assert kept is first and again is first and same_text == text == json.dumps(TOOLS, separators=(",", ":"))
    assert encoded == [first]


def test_values_python_finds_equal_but_json_does_not_are_kept_apart() -> None:
    resent, _ = counting()
    variants = ['[{"strict":true}]', '[{"strict":1}]', '[{"strict":1.0}]', '[{"minimum":0.0}]', '[{"minimum":-0.0}]']
    for value in map(json.loads, variants):
        kept, text = resent.get(value)
        assert kept is value and text == json.dumps(value, separators=(",", ":"))


def test_the_least_recently_met_is_forgotten_past_the_size() -> None:
    resent, encoded = counting()
    first, second, third = (json.loads(f'[{{"name":"{name}"}}]') for name in "abc")
    resent.get(first)
    resent.get(second)
    resent.get(json.loads('[{"name":"a"}]'))  # met again: now the most recent
    resent.get(third)  # forgets second
    assert resent.get(json.loads('[{"name":"a"}]'))[0] is first and resent.get(json.loads('[{"name":"b"}]'))[0] is not second
    assert len(encoded) == 4
