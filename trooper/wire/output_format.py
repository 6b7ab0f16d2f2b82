"""Structured output in each protocol's shape, decoded into the canonical ``OutputFormat`` and
encoded back: a JSON schema asked for at any front door reaches whichever upstream answers, in its
own shape, and never disappears on the way.

- OpenAI Chat Completions: ``response_format`` ``{"type": "json_schema", "json_schema": {"name",
  "schema", "description", "strict"}}`` or ``{"type": "json_object"}`` (JSON mode);
- OpenAI Responses: ``text.format`` ``{"type": "json_schema", "name", "schema", "description",
  "strict"}`` or ``{"type": "json_object"}``;
- Anthropic Messages: ``output_config.format`` ``{"type": "json_schema", "schema"}`` (and the
  beta's ``output_format`` of the same shape); Claude has no JSON mode, so a JSON-mode request
  reaches it as an instruction (``JSON_MODE_INSTRUCTION``);
- Ollama: ``format``, the schema itself or ``"json"``.

``{"type": "text"}`` is plain text: no format.
"""

from __future__ import annotations

from typing import Any

from trooper.conversation import OutputFormat
from trooper.errors import InvalidRequest
from trooper.wire import fields as f

#: What Claude is told for OpenAI's JSON mode, which it has no setting for.
JSON_MODE_INSTRUCTION = "Answer with a single JSON object only: no prose, no Markdown code fence."
_KINDS = ("text", "json_schema", "json_object")


def _schema(obj: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = f.field(obj, "schema", dict, path, required=True)
    return schema


def from_chat(body: dict[str, Any]) -> OutputFormat | None:
    """Chat Completions' ``response_format`` (its schema's fields under ``json_schema``)."""
    return _openai_format(f.field(body, "response_format", dict), "response_format", "json_schema")


def from_responses(body: dict[str, Any]) -> OutputFormat | None:
    """The Responses API's ``text.format`` (its schema's fields in the format itself)."""
    text = f.field(body, "text", dict)
    return _openai_format(f.field(text, "format", dict, "text") if text else None, "text.format", None)


def _openai_format(form: dict[str, Any] | None, path: str, nested: str | None) -> OutputFormat | None:
    if form is None:
        return None
    kind = f.choice(form, "type", _KINDS, path, required=True)
    if kind == "json_object":
        return OutputFormat()
    if kind != "json_schema":
        return None
    spec, where = (f.field(form, nested, dict, path, required=True), f"{path}.{nested}") if nested else (form, path)
    return OutputFormat(
        schema=_schema(spec, where),
        name=f.field(spec, "name", str, where, required=True),
        description=f.field(spec, "description", str, where),
        strict=f.field(spec, "strict", bool, where),
    )


def from_anthropic(body: dict[str, Any]) -> OutputFormat | None:
    """Messages' ``output_config.format``, or the structured-outputs beta's ``output_format``."""
    config = f.field(body, "output_config", dict)
    form, path = (f.field(config, "format", dict, "output_config"), "output_config.format") if config else (None, "")
    if form is None:
        form, path = f.field(body, "output_format", dict), "output_format"
    if form is None:
        return None
    f.choice(form, "type", ("json_schema",), path, required=True)
    return OutputFormat(schema=_schema(form, path))


def from_ollama(body: dict[str, Any]) -> OutputFormat | None:
    """Ollama's ``format``: ``"json"`` or a schema."""
    form = body.get("format")
    if form is None or form == "":
        return None
    if form == "json":
        return OutputFormat()
    if isinstance(form, dict):
        return OutputFormat(schema=form)
    raise InvalidRequest(f"format: must be \"json\" or a JSON schema object, got {form!r}")


def to_chat(form: OutputFormat) -> dict[str, Any]:
    """``response_format`` for a Chat Completions upstream."""
    if form.schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": _named(form)}


def to_responses(form: OutputFormat) -> dict[str, Any]:
    """``text.format`` for a Responses upstream, and the echo of a Responses response."""
    if form.schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", **_named(form)}


def _named(form: OutputFormat) -> dict[str, Any]:
    named: dict[str, Any] = {"name": form.name, "schema": form.schema}
    if form.description is not None:
        named["description"] = form.description
    if form.strict is not None:
        named["strict"] = form.strict
    return named


def to_anthropic(form: OutputFormat) -> dict[str, Any] | None:
    """``output_config.format`` for Claude; None for JSON mode (``JSON_MODE_INSTRUCTION`` instead)."""
    return None if form.schema is None else {"type": "json_schema", "schema": form.schema}


def to_ollama(form: OutputFormat) -> str | dict[str, Any]:
    """Ollama's ``format``."""
    return "json" if form.schema is None else form.schema
