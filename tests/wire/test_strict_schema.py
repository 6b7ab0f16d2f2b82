"""A Responses tool's schema normalised into strict form, as OpenAI does when ``strict`` is left out."""

from __future__ import annotations

from trooper.wire.strict_schema import normalised


def test_every_object_is_closed_and_all_its_properties_required() -> None:
    item = {"type": "object", "properties": {"step": {"type": "string"}, "done": {"type": "boolean"}}}
    schema = {
        "type": "object",
        "properties": {"plan": {"type": "array", "items": item}, "note": {"anyOf": [{"$ref": "#/$defs/note"}, {"type": "null"}]}},
        "$defs": {"note": {"type": "object", "properties": {"text": {"type": "string"}}, "required": []}},
    }
    strict = normalised(schema)
    assert strict is not None
    assert (strict["required"], strict["additionalProperties"]) == (["plan", "note"], False)
    assert strict["properties"]["plan"]["items"] == {**item, "required": ["step", "done"], "additionalProperties": False}
    assert strict["$defs"]["note"]["required"] == ["text"] and strict["$defs"]["note"]["additionalProperties"] is False
    assert "required" not in schema and "additionalProperties" not in item, "the client's schema is left as it was"


def test_an_object_open_to_any_keys_has_no_strict_form() -> None:
    assert normalised({"type": "object", "properties": {"tags": {"type": "object"}}}) is None
    assert normalised({"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}) is None
    assert normalised({"type": "object", "additionalProperties": False}) == {"type": "object", "additionalProperties": False, "required": []}
