"""Settings only Claude knows, passed on as the client sent them when Claude answers: context
editing (``context_management``, which Claude Code sends whenever it thinks, to keep its earlier
thinking and the prompt cache), automatic prompt caching (a top-level ``cache_control``), the
effort and task budget in ``output_config`` (its ``format`` is structured output, carried apart:
``wire/output_format.py``), the service tier, inference region, speed, server-side fallbacks,
cache diagnostics, MCP servers, the billing policy and compaction requests. Any other upstream
answers without them: they mean nothing to it (but a compaction request, for which another model
is asked for the summary instead). So do a tool's own (its input examples, deferred loading…). Each is checked at
the door for its JSON type only: Claude checks the rest, and its 400 is the client's.

A field of the body or of a tool that Trooper does not know at all (one Claude's API added since,
sent through the SDK's newest version or its ``extra_body``) is passed to Claude as sent too, and
left out of ``count_tokens`` and for other upstreams alike: Claude's features kept coming through
the door dropped without a word (compaction requests, message threads, billing policies), each
until a release named it. Claude refuses a field it does not know (400), and that is the client's.
"""

from __future__ import annotations

from typing import Any

from trooper.wire import fields as f

_CHECKS: dict[str, f.Check] = {
    "context_management": f.of(dict),
    "cache_control": f.of(dict),
    "service_tier": f.of(str),
    "inference_geo": f.of(str),
    "speed": f.of(str),
    "fallbacks": f.any_json,  # "default", or a list of models
    "fallback_credit_token": f.of(str),
    "diagnostics": f.of(dict),
    "mcp_servers": f.of(list),
    # Who pays: the customer behind the user profile the ``anthropic-user-profile-id`` header names.
    "billing_policy": f.of(dict),
    # A compaction request ({"type": "summarize"}): Claude answers with a compaction block alone,
    # another model with the summary it is asked for (``Request.asks_for_compaction``).
    "compaction": f.of(dict),
}
#: A tool's settings only Claude knows: examples of its input, loading it only when the tool
#: search finds it, streaming its input unbuffered, the callers allowed (programmatic tool calling).
_TOOL_CHECKS: dict[str, f.Check] = {
    "input_examples": f.of(list),
    "defer_loading": f.of(bool),
    "eager_input_streaming": f.of(bool),
    "allowed_callers": f.of(list),
}
#: What the Messages door reads itself (``wire/anthropic.py``; ``thread``: the message threads;
#: ``x_force_local``: the forced route), never passed on as a setting.
_READ = frozenset(
    {
        "model", "messages", "max_tokens", "system", "temperature", "top_p", "top_k", "stop_sequences",
        "tools", "tool_choice", "stream", "metadata", "thinking", "container", "output_format", "output_config",
        "thread", "x_force_local", *_CHECKS,
    }
)  # fmt: skip
#: What a function tool's decoding reads itself.
_TOOL_READ = frozenset({"type", "name", "description", "input_schema", "cache_control", "strict", *_TOOL_CHECKS})
#: Those Claude's ``count_tokens`` takes besides the prompt (it refuses the others, 400).
COUNTED = frozenset({"context_management", "cache_control", "mcp_servers", "output_config", "speed"})


def of_tool(tool: dict[str, Any], path: str) -> dict[str, Any]:
    """The Claude-only settings of a tool definition (``tools[i]`` at ``path``), and its fields
    Trooper does not know."""
    options = f.settings(tool, _TOOL_CHECKS, path)
    options.update(f.unknown(tool, _TOOL_READ))
    return options


def from_body(body: dict[str, Any]) -> dict[str, Any]:
    """The Claude-only settings a Messages body holds, ``output_config`` without its ``format``."""
    options = f.settings(body, _CHECKS)
    config = f.field(body, "output_config", dict)
    rest = {key: value for key, value in config.items() if key != "format"} if config else {}
    if rest:
        options["output_config"] = rest
    options.update(f.unknown(body, _READ))
    return options
