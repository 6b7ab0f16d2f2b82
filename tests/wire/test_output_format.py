"""Structured output decoded at each front door and encoded for each upstream (the HTTP round trips
are in tests/server/test_structured_output.py)."""

from __future__ import annotations

import pytest

from trooper.conversation import OutputFormat
from trooper.errors import InvalidRequest
from trooper.providers.embedded import sampling
from trooper.wire import anthropic, ollama, openai, output_format, responses

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
NAMED = OutputFormat(schema=SCHEMA, name="Count", description="how many", strict=True)


def test_each_front_door_decodes_the_same_format() -> None:
    chat = openai.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                  "response_format": {"type": "json_schema", "json_schema": {"name": "Count", "schema": SCHEMA, "description": "how many", "strict": True}}})
    kept = responses.decode_request({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "name": "Count", "schema": SCHEMA, "description": "how many", "strict": True}}})
    claude = anthropic.decode_request({"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}], "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}})
    beta = anthropic.decode_request({"model": "m", "max_tokens": 9, "messages": [{"role": "user", "content": "x"}], "output_format": {"type": "json_schema", "schema": SCHEMA}})
    local = ollama.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "format": SCHEMA})
    json_mode = ollama.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "format": "json"})
    assert chat.output_format == kept.output_format == NAMED
    assert claude.output_format == beta.output_format == local.output_format == OutputFormat(schema=SCHEMA)
    assert json_mode.output_format == OutputFormat()


def test_plain_text_is_no_format() -> None:
    assert openai.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "text"}}).output_format is None
    assert responses.decode_request({"model": "m", "input": "x", "text": {"format": {"type": "text"}}}).output_format is None


def test_encoded_for_each_upstream() -> None:
    assert output_format.to_chat(NAMED) == {"type": "json_schema", "json_schema": {"name": "Count", "schema": SCHEMA, "description": "how many", "strict": True}}
    assert output_format.to_responses(NAMED) == {"type": "json_schema", "name": "Count", "schema": SCHEMA, "description": "how many", "strict": True}
    assert output_format.to_anthropic(NAMED) == {"type": "json_schema", "schema": SCHEMA}
    assert output_format.to_ollama(NAMED) == SCHEMA
    assert (output_format.to_chat(OutputFormat()), output_format.to_ollama(OutputFormat()), output_format.to_anthropic(OutputFormat())) == (
        {"type": "json_object"}, "json", None)


def test_the_embedded_model_samples_by_a_json_grammar() -> None:
    request = ollama.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "format": SCHEMA})
    assert sampling(request)["response_format"] == {"type": "json_object", "schema": SCHEMA}
    request.output_format = OutputFormat()
    assert sampling(request)["response_format"] == {"type": "json_object"}


@pytest.mark.parametrize("body", [{"format": 3}, {"format": "yaml"}])
def test_ollama_format_must_be_json_or_a_schema(body: dict) -> None:
    with pytest.raises(InvalidRequest, match="format: must be \"json\" or a JSON schema object"):
        ollama.decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], **body})
