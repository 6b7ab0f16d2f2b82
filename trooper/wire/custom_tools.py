"""The Responses API's custom tools, as function tools every upstream can call.

A custom tool (``{"type": "custom", "name", "description", "format"}``) takes one free-form
string, not JSON arguments; Codex CLI offers ``apply_patch`` so, with a Lark grammar of its patch
format. No upstream but OpenAI's Responses API has such tools, so the canonical tool is a function
taking one string parameter, ``input``, and the tool's format (its grammar's syntax and text) is
folded into the description, where the model reads it. A call's ``input`` argument is the custom
call's input, byte for byte, and a custom call a client resends becomes that argument again.
OpenAI's Responses API, which has such tools, gets the tool as the client sent it (``Tool.custom``),
and its calls and their outputs as custom items: its model writes the input under the grammar.
"""

from __future__ import annotations

import json
from typing import Any

from trooper.conversation import Tool, ToolUseBlock
from trooper.errors import InvalidRequest
from trooper.wire import fields as f

#: The one parameter of a custom tool's function: the custom call's input.
INPUT = "input"
_SYNTAXES = {"lark": "this Lark grammar", "regex": "this regular expression"}


def canonical_tool(tool: dict[str, Any], path: str) -> Tool:
    """The function tool standing for the custom ``tool`` (its ``format`` checked)."""
    name: str = f.field(tool, "name", str, path, required=True)
    description = f.field(tool, "description", str, path) or ""
    form = f.field(tool, "format", dict, path)
    rule = _format_rule(form, f"{path}.format") if form else None
    if rule:
        description = f"{description}\n\n{rule}" if description else rule
    parameter = {"type": "string", "description": "The tool's whole input, as raw text (not JSON)."}
    schema = {"type": "object", "properties": {INPUT: parameter}, "required": [INPUT]}
    return Tool(name=name, description=description, input_schema=schema, custom=dict(tool))


def _format_rule(form: dict[str, Any], path: str) -> str | None:
    """What the description says of the input's format; None for free text (the default)."""
    kind = f.choice(form, "type", ("text", "grammar"), path, required=True)
    if kind == "text":
        return None
    syntax = f.choice(form, "syntax", tuple(_SYNTAXES), path, required=True)
    definition: str = f.field(form, "definition", str, path, required=True)
    return f"The `{INPUT}` argument must be written in {_SYNTAXES[syntax]}:\n\n```{syntax}\n{definition}\n```"


def names(tools: list[dict[str, Any]]) -> frozenset[str]:
    """The names of the custom tools among a request's ``tools``."""
    return frozenset(t["name"] for t in tools if isinstance(t, dict) and t.get("type") == "custom" and isinstance(t.get("name"), str))


def call_input(call: ToolUseBlock) -> str:
    """A custom tool call's input: its ``input`` argument as the model wrote it; arguments not of
    that shape (a model that ignored the schema) as their JSON text, so the client sees them."""
    value = call.input.get(INPUT)
    return value if isinstance(value, str) else json.dumps(call.input, ensure_ascii=False)


def input_fragment(text: str, first: bool) -> str:
    """A piece of a custom call's input, streamed, as a piece of its ``{"input": ...}`` arguments'
    JSON text (the first piece opens them; ``INPUT_END`` closes them)."""
    escaped = json.dumps(text)[1:-1]
    return f'{{"{INPUT}": "{escaped}' if first else escaped


#: What closes a custom call's arguments streamed by ``input_fragment``.
INPUT_END = '"}'


def call_block(call_id: str, name: str, text: str) -> ToolUseBlock:
    """The canonical call of a custom tool call a client resends."""
    return ToolUseBlock(id=call_id, name=name, input={INPUT: text})


def check_unique(tools: list[Tool]) -> None:
    """Two tools of one name cannot both be offered: a call could not say which it meant."""
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        if tool.name in seen:
            raise InvalidRequest(f"tools[{index}].name: {tool.name!r} names two tools")
        seen.add(tool.name)
