"""Anthropic Messages API (``POST /v1/messages``) to and from the canonical model.

Server tools (``web_search_20250305``, ``web_fetch_…``, ``code_execution_…``, and Anthropic's
schema-less client tools such as ``bash_…``) are built-in tools only Claude runs: kept verbatim in
``Request.hosted_tools`` (``tools_host`` "anthropic"), and the blocks they give (``server_tool_use``,
``web_search_tool_result``…) are ``HostedToolBlock``s passed through verbatim both ways, with the
text's ``citations``. A ``document`` (a PDF, a text; in a message or a tool result) is Claude's to
read too: a ``HostedToolBlock`` Claude gets verbatim, and any other upstream as its text or a note
that it was left out (``HostedToolBlock.stand_in``). A streamed thinking block's
``signature_delta`` travels on its ``BlockStop``, so a client resending the history keeps a valid
signature; ``redacted_thinking`` is a thinking block whose ``redacted`` data goes back to Claude
unchanged (and to no other provider). Claude's server-side compaction (``compact_20260112`` in
``context_management``) answers with a ``compaction`` block, its summary streamed whole in one
``compaction_delta`` (a ``HostedToolUpdate``): Claude gets it back verbatim, any other model its
summary in place of everything before it (``Request.without_hosted_items``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trooper import json_text
from trooper.conversation import (
    Block,
    BlockStart,
    BlockStop,
    CacheControl,
    HostedToolBlock,
    HostedToolUpdate,
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    OutputFormat,
    Request,
    Response,
    StopReason,
    StreamError,
    StreamEvent,
    TextBlock,
    TextCitation,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    Tool,
    ToolChoice,
    ToolInputDelta,
    ToolResultBlock,
    ToolResultPart,
    ToolUseBlock,
    Usage,
    derive_stop_reason,
    is_claude_compaction,
    new_message_id,
)
from trooper.errors import InvalidRequest, error_type_for_status
from trooper.wire import anthropic_options, compact_json, output_format
from trooper.wire import fields as f
from trooper.wire.errors import UnterminatedStream, UpstreamStreamError, WireError
from trooper.wire.sse import SSEParser, format_sse

#: Anthropic requires ``max_tokens``; used when a client of another protocol left it out.
DEFAULT_MAX_TOKENS = 4096

ANTHROPIC_VERSION = "2023-06-01"

_STOP_FROM_WIRE: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "refusal": "refusal",
    # A paused server-tool turn: the client resends the history to continue it.
    "pause_turn": "pause_turn",
    # Claude compacted the conversation and paused (``pause_after_compaction``).
    "compaction": "compaction",
    "model_context_window_exceeded": "max_tokens",
}


def _stop_to_wire(stop_reason: str) -> str:
    # Anthropic has no "error" stop reason; a failed stream is reported with an error event.
    return "end_turn" if stop_reason == "error" else stop_reason


# ---------------------------------------------------------------- request


def decode_request(body: dict[str, Any]) -> Request:
    model = f.field(body, "model", str, required=True)
    max_tokens = f.positive_int(body, "max_tokens", required=True)
    messages = [_decode_message(path, m) for path, m in f.items(body, "messages", required=True)]
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    tools: list[Tool] = []
    server_tools: list[dict[str, Any]] = []
    for path, tool in f.items(body, "tools"):
        if _is_server_tool(path, tool):
            server_tools.append(dict(tool))
        else:
            tools.append(_decode_tool(path, tool))
    stream = f.field(body, "stream", bool)
    system, system_blocks = _decode_system(body.get("system"))
    return Request(
        model=model,
        messages=messages,
        system=system,
        system_blocks=system_blocks,
        max_tokens=max_tokens,
        temperature=f.field(body, "temperature", float),
        top_p=f.field(body, "top_p", float),
        top_k=f.field(body, "top_k", int),
        stop=f.string_list(body, "stop_sequences") if body.get("stop_sequences") is not None else [],
        tools=tools,
        tool_choice=_decode_tool_choice(body),
        stream=bool(stream),
        metadata=f.field(body, "metadata", dict) or {},
        thinking=f.field(body, "thinking", dict),
        hosted_tools=server_tools,
        tools_host="anthropic",
        container=_container(body),
        output_format=output_format.from_anthropic(body),
        anthropic_options=anthropic_options.from_body(body),
    )


#: The beta Claude's server-side compaction (a ``compact_…`` context edit) needs.
COMPACTION_BETA = "compact-2026-01-12"


def betas_needed(body: Mapping[str, Any]) -> list[str]:
    """The betas the features ``body`` uses need (a client of another protocol names none)."""
    management = body.get("context_management")
    edits = management.get("edits") if isinstance(management, dict) else None
    compacts = isinstance(edits, list) and any(isinstance(e, dict) and str(e.get("type", "")).startswith("compact_") for e in edits)
    return [COMPACTION_BETA] if compacts else []


@dataclass(frozen=True)
class Thread:
    """A request's ``thread`` (server-held conversation state, beta): ``create`` asks for the
    conversation held under the answer's id; ``continue`` goes on after ``previous_message_id``,
    the request holding only the new turn's messages (``server/message_threads.py``)."""

    previous_message_id: str | None = None


def decode_thread(body: dict[str, Any]) -> Thread | None:
    thread = f.field(body, "thread", dict)
    if thread is None:
        return None
    if f.choice(thread, "type", ("create", "continue"), "thread", required=True) == "create":
        return Thread()
    return Thread(f.field(thread, "previous_message_id", str, "thread", required=True))


def _container(body: dict[str, Any]) -> str | dict[str, Any] | None:
    """The code-execution container the client names: an id, or its settings (skills…)."""
    container = body.get("container")
    if container is None or isinstance(container, (str, dict)):
        return container
    raise InvalidRequest(f"container: must be a container id or an object, got {f.json_type(container)}")


def _decode_system(system: Any) -> tuple[str | None, list[TextBlock] | None]:
    """The system prompt's text, and its blocks when the client sent blocks (kept, with their
    cache hints, so Claude receives them as they came)."""
    if system is None:
        return None, None
    if isinstance(system, str):
        return system, None
    if not isinstance(system, list):
        raise InvalidRequest(f"system: must be a string or an array of text blocks, got {f.json_type(system)}")
    blocks = []
    for i, block in enumerate(system):
        path = f"system[{i}]"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise InvalidRequest(f"{path}: must be a text block ({{\"type\": \"text\", \"text\": ...}})")
        blocks.append(TextBlock(f.field(block, "text", str, path, required=True), cache_control=f.cache_control(block, path)))
    return "\n\n".join(block.text for block in blocks), blocks


def _decode_message(path: str, message: dict[str, Any]) -> Message:
    if message.get("role") == "system":
        # Worded so that Claude Code, which sends mid-conversation system messages when the API
        # takes them, sees its cue ("not supported", "role … system") and resends without them.
        raise InvalidRequest(f'{path}.role: role "system" in messages is not supported by Trooper; put system text in the top-level system field')
    role = f.choice(message, "role", ("user", "assistant"), path, required=True)
    content = message.get("content")
    if isinstance(content, str):
        return Message(role, [TextBlock(content)])  # type: ignore[arg-type]  # choice() checked the role
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}.content: must be a string or an array of content blocks, got {f.json_type(content)}")
    blocks = [_decode_block(block_path, block, role) for block_path, block in f.items(message, "content", path)]
    return Message(role, blocks)  # type: ignore[arg-type]  # choice() checked the role


_USER_BLOCKS = ("text", "image", "tool_result", "document", "search_result", "container_upload")
#: The fields Claude's own content blocks need, checked at the door; Claude checks the rest.
_CLAUDE_BLOCKS: dict[str, tuple[tuple[str, type], ...]] = {
    "document": (("source", dict),),
    "search_result": (("source", str), ("title", str), ("content", list)),  # a RAG result Claude cites
    "tool_reference": (("tool_name", str),),  # a tool search's find: a deferred tool to load
    "browser_state": (("tabs", list),),  # the browser toolset's tabs after a call, in its result
    "container_upload": (("file_id", str),),  # a file (Claude's Files API) for code execution to read
}
#: What the decoding of a tool call and of a tool result reads; their other fields are Claude's
#: (``caller``, ``toolset_name``…), carried as they came (``ToolUseBlock.claude_fields``).
_TOOL_USE_READ = frozenset({"type", "id", "name", "input", "cache_control"})
_TOOL_RESULT_READ = frozenset({"type", "tool_use_id", "content", "is_error", "cache_control"})


def _call_fields(block: dict[str, Any]) -> dict[str, Any] | None:
    """Claude's own fields of a tool call (a client's or Claude's answer's); None when it has none."""
    return f.unknown(block, _TOOL_USE_READ) or None
_ASSISTANT_BLOCKS = ("text", "tool_use", "thinking", "redacted_thinking", "compaction")


def is_server_tool_block(kind: object) -> bool:
    """A block a server tool gives (``server_tool_use``, ``web_search_tool_result``,
    ``mcp_tool_use``…): Claude's own, passed through verbatim."""
    return isinstance(kind, str) and (
        kind in ("server_tool_use", "mcp_tool_use", "container_upload") or (kind.endswith("_tool_result") and kind != "tool_result")
    )


def _passed_verbatim(kind: object) -> bool:
    """A block of Claude's answer that reaches the client as Claude sent it: a server tool's, or
    a compaction."""
    return is_server_tool_block(kind) or kind == "compaction"


def _decode_block(path: str, block: dict[str, Any], role: str) -> Block:
    kind = f.field(block, "type", str, path, required=True)
    if role == "assistant" and is_server_tool_block(kind):
        return HostedToolBlock(dict(block), host="anthropic")
    allowed = _USER_BLOCKS if role == "user" else _ASSISTANT_BLOCKS
    if kind not in allowed:
        known = kind in _USER_BLOCKS + _ASSISTANT_BLOCKS
        reason = f"is not allowed in a {role} message" if known else "is not a supported content block type"
        raise InvalidRequest(f"{path}.type: {kind!r} {reason} (expected one of {', '.join(allowed)})")
    if kind == "text":
        return TextBlock(
            f.field(block, "text", str, path, required=True), cache_control=f.cache_control(block, path),
            citations=f.field(block, "citations", list, path) or None,
        )
    if kind == "image":
        return _decode_image(path, block)
    if kind in _CLAUDE_BLOCKS:
        return _claude_block(path, block)
    if kind == "compaction":  # its summary, or null for a compaction that failed (Claude skips it)
        f.field(block, "content", str, path)
        return HostedToolBlock(dict(block), host="anthropic")
    if kind == "tool_use":
        return ToolUseBlock(
            id=f.field(block, "id", str, path, required=True),
            name=f.field(block, "name", str, path, required=True),
            input=f.field(block, "input", dict, path, required=True),
            cache_control=f.cache_control(block, path),
            claude_fields=_call_fields(block),
        )
    if kind == "thinking":
        return ThinkingBlock(f.field(block, "thinking", str, path, required=True), f.field(block, "signature", str, path))
    if kind == "redacted_thinking":
        return ThinkingBlock("", redacted=f.field(block, "data", str, path, required=True))
    return _decode_tool_result(path, block)


def _decode_image(path: str, block: dict[str, Any]) -> ImageBlock:
    source = f.field(block, "source", dict, path, required=True)
    source_path = f"{path}.source"
    kind = f.choice(source, "type", ("base64", "url"), source_path, required=True)
    if kind == "url":
        return ImageBlock(url=f.field(source, "url", str, source_path, required=True), cache_control=f.cache_control(block, path))
    return ImageBlock(
        media_type=f.field(source, "media_type", str, source_path, required=True),
        data=f.field(source, "data", str, source_path, required=True),
        cache_control=f.cache_control(block, path),
    )


def _claude_block(path: str, block: dict[str, Any]) -> HostedToolBlock:
    """A block only Claude reads, as the client sent it (a document, a search result, a tool
    reference): the fields it needs checked, Claude validates the rest itself."""
    for name, kind in _CLAUDE_BLOCKS[block["type"]]:
        f.field(block, name, kind, path, required=True)
    return HostedToolBlock(dict(block), host="anthropic")


def _decode_tool_result(path: str, block: dict[str, Any]) -> ToolResultBlock:
    tool_use_id = f.field(block, "tool_use_id", str, path, required=True)
    is_error = bool(f.field(block, "is_error", bool, path))
    cache = f.cache_control(block, path)
    claude_fields = f.unknown(block, _TOOL_RESULT_READ) or None
    content = block.get("content")
    if content is None:
        return ToolResultBlock(tool_use_id, [], is_error, cache_control=cache, claude_fields=claude_fields)
    if isinstance(content, str):
        return ToolResultBlock(tool_use_id, [TextBlock(content)], is_error, cache_control=cache, claude_fields=claude_fields)
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}.content: must be a string or an array of text and image blocks, got {f.json_type(content)}")
    parts: list[ToolResultPart] = []
    for part_path, part in f.items(block, "content", path):
        kind = f.choice(part, "type", ("text", "image", *_CLAUDE_BLOCKS), part_path, required=True)
        if kind == "text":
            parts.append(TextBlock(f.field(part, "text", str, part_path, required=True), cache_control=f.cache_control(part, part_path)))
        else:
            parts.append(_decode_image(part_path, part) if kind == "image" else _claude_block(part_path, part))
    return ToolResultBlock(tool_use_id, parts, is_error, cache_control=cache, claude_fields=claude_fields)


#: A toolset's type (``browser_toolset_20260801``): Claude serves its members as tools.
_TOOLSET = re.compile(r"_toolset_\d{8}$")


def _is_server_tool(path: str, tool: dict[str, Any]) -> bool:
    """A tool Anthropic defines (``{"type": "web_search_20250305", "name": "web_search"}``): one
    its servers run, or one with a schema only Claude knows (``bash_20250124``)."""
    kind = f.field(tool, "type", str, path)
    if kind in (None, "custom"):
        return False
    if not _TOOLSET.search(kind):  # a toolset declares a family of tools, and carries no name
        f.field(tool, "name", str, path, required=True)
    return True


def _decode_tool(path: str, tool: dict[str, Any]) -> Tool:
    schema = f.field(tool, "input_schema", dict, path, required=True)
    return Tool(
        name=f.field(tool, "name", str, path, required=True),
        description=f.field(tool, "description", str, path) or "",
        input_schema=schema,
        cache_control=f.cache_control(tool, path),
        strict=f.field(tool, "strict", bool, path),
        anthropic_options=anthropic_options.of_tool(tool, path),
    )


def _decode_tool_choice(body: dict[str, Any]) -> ToolChoice | None:
    choice = f.field(body, "tool_choice", dict)
    if choice is None:
        return None
    kind = f.choice(choice, "type", ("auto", "any", "tool", "none"), "tool_choice", required=True)
    name = f.field(choice, "name", str, "tool_choice", required=kind == "tool")
    disable = bool(f.field(choice, "disable_parallel_tool_use", bool, "tool_choice"))
    return ToolChoice(kind, name, disable)  # type: ignore[arg-type]  # choice() checked the kind


#: Claude's automatic prompt caching: the request's last cacheable block marked, the mark moving
#: forward as the conversation grows (one of the request's four cache breakpoints).
AUTOMATIC_CACHE: CacheControl = {"type": "ephemeral"}


def encode_request(
    request: Request, model: str, *, stream: bool, num_ctx: int | None = None, automatic_cache: bool = False
) -> dict[str, Any]:
    """The body for ``POST /v1/messages``. ``num_ctx`` is a local-model setting and is ignored.
    ``automatic_cache``: a request whose client expects its prompt cached unasked and marked
    nothing (``Request.caches_unasked``) asks for Claude's automatic caching."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": request.max_tokens or _default_max_tokens(request.thinking),
        "messages": [m for m in (_encode_message(m) for m in request.messages) if m["content"]],
        "stream": stream,
    }
    system_blocks = request.system_as_blocks()
    if system_blocks:
        body["system"] = [_cached({"type": "text", "text": b.text}, b.cache_control) for b in system_blocks]
    elif request.system:
        body["system"] = request.system
    body.update(request.anthropic_options)
    if automatic_cache and request.caches_unasked and not request.marks_cache():
        body["cache_control"] = AUTOMATIC_CACHE
    if request.output_format is not None:
        _ask_for_format(body, request.output_format)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    elif request.top_p is not None:
        # Recent Claude models reject temperature and top_p together; temperature wins.
        body["top_p"] = request.top_p
    if request.top_k is not None:
        body["top_k"] = request.top_k
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    server_tools = request.hosted_tools if request.tools_host == "anthropic" else []
    if request.tools or server_tools:
        body["tools"] = [_cached(_encode_tool(t), t.cache_control) for t in request.tools] + server_tools
        if request.tool_choice is not None:
            body["tool_choice"] = _encode_tool_choice(request.tool_choice)
    if request.thinking is not None:
        body["thinking"] = request.thinking
    if request.container is not None:
        body["container"] = request.container
    user_id = request.metadata.get("user_id")
    if isinstance(user_id, str):
        # Anthropic accepts only user_id in metadata.
        body["metadata"] = {"user_id": user_id}
    return body


def _encode_tool(tool: Tool) -> dict[str, Any]:
    encoded: dict[str, Any] = {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema}
    if tool.strict:
        # Claude's strict tool use (GA on Claude 4.5 models and later); false is its default.
        encoded["strict"] = True
    encoded.update(tool.anthropic_options)
    return encoded


def _ask_for_format(body: dict[str, Any], form: OutputFormat) -> None:
    """Structured output as Claude takes it: a schema in ``output_config``; for JSON mode, which
    Claude has no setting for, an instruction after the system prompt (its cached prefix kept)."""
    schema_format = output_format.to_anthropic(form)
    if schema_format is not None:
        body["output_config"] = {**body.get("output_config", {}), "format": schema_format}
        return
    instruction = output_format.JSON_MODE_INSTRUCTION
    system = body.get("system")
    if isinstance(system, list):
        body["system"] = [*system, {"type": "text", "text": instruction}]
    else:
        body["system"] = f"{system}\n\n{instruction}" if system else instruction


def _default_max_tokens(thinking: dict[str, Any] | None) -> int:
    """``max_tokens`` for a client that set none: Claude requires one larger than the thinking budget."""
    budget = thinking.get("budget_tokens") if thinking else None
    return DEFAULT_MAX_TOKENS + (budget if isinstance(budget, int) else 0)


def _encode_tool_choice(choice: ToolChoice) -> dict[str, Any]:
    out: dict[str, Any] = {"type": choice.type}
    if choice.type == "tool":
        out["name"] = choice.name
    if choice.disable_parallel and choice.type != "none":
        out["disable_parallel_tool_use"] = True
    return out


def _encode_message(message: Message) -> dict[str, Any]:
    return {"role": message.role, "content": [b for b in (_encode_block(b) for b in message.content) if b is not None]}


def _cached(encoded: dict[str, Any], cache_control: CacheControl | None) -> dict[str, Any]:
    """``encoded`` with the client's cache hint, last and unchanged, where the client put it."""
    if cache_control is not None:
        encoded["cache_control"] = cache_control
    return encoded


def _encode_image(block: ImageBlock) -> dict[str, Any]:
    if block.data is not None:
        source = {"type": "base64", "media_type": block.media_type, "data": block.data}
    else:
        source = {"type": "url", "url": block.url or ""}
    return _cached({"type": "image", "source": source}, block.cache_control)


def _encode_block(block: Block) -> dict[str, Any] | None:
    """One block in Anthropic's shape; ``None`` for blocks Anthropic would reject."""
    if isinstance(block, TextBlock):
        # Anthropic rejects empty text blocks.
        return _cached(_encode_text(block), block.cache_control) if block.text else None
    if isinstance(block, ImageBlock):
        return _encode_image(block)
    if isinstance(block, ToolUseBlock):
        return _cached(_encode_tool_use(block, block.input), block.cache_control)
    if isinstance(block, ToolResultBlock):
        content = [encoded for encoded in map(_encode_result_part, block.content) if encoded is not None]
        out: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.tool_use_id, "content": content}
        if block.is_error:
            out["is_error"] = True
        out.update(block.claude_fields or {})
        return _cached(out, block.cache_control)
    if isinstance(block, HostedToolBlock):  # Claude's own server-tool blocks as they came; not OpenAI's items
        return block.item if block.host == "anthropic" else None
    # Thinking without Anthropic's signature (a local model's reasoning, OpenAI's reasoning summary
    # and its encrypted_content, which only OpenAI reads) would be rejected: the turn goes without it.
    return _encode_thinking(block) if block.signature or block.redacted is not None else None


def _encode_tool_use(block: ToolUseBlock, tool_input: dict[str, Any]) -> dict[str, Any]:
    """A tool call in Anthropic's shape, with Claude's own fields as they came."""
    encoded = {"type": "tool_use", "id": block.id, "name": block.name, "input": tool_input}
    return {**encoded, **block.claude_fields} if block.claude_fields else encoded


def _encode_result_part(part: ToolResultPart) -> dict[str, Any] | None:
    """A tool result's part: text (not empty), an image, or Claude's document as it came."""
    if isinstance(part, TextBlock):
        return _cached({"type": "text", "text": part.text}, part.cache_control) if part.text else None
    if isinstance(part, ImageBlock):
        return _encode_image(part)
    return part.item if part.host == "anthropic" else None


def _encode_text(block: TextBlock) -> dict[str, Any]:
    encoded: dict[str, Any] = {"type": "text", "text": block.text}
    if block.citations:
        encoded["citations"] = block.citations
    return encoded


def _encode_thinking(block: ThinkingBlock) -> dict[str, Any]:
    """Thinking in Anthropic's shape: redacted thinking as its encrypted data."""
    if block.redacted is not None:
        return {"type": "redacted_thinking", "data": block.redacted}
    return {"type": "thinking", "thinking": block.thinking, "signature": block.signature or ""}


# ---------------------------------------------------------------- response


def decode_response(body: dict[str, Any]) -> Response:
    content = body.get("content")
    if not isinstance(content, list):
        raise WireError("Anthropic response has no content array")
    blocks: list[Block] = []
    for block in content:
        decoded = _decode_response_block(block)
        if decoded is not None:
            blocks.append(decoded)
    usage = body.get("usage") or {}
    return Response(
        id=str(body.get("id") or new_message_id()),
        model=str(body.get("model") or ""),
        content=blocks,
        stop_reason=derive_stop_reason(blocks, _STOP_FROM_WIRE.get(str(body.get("stop_reason")), "end_turn")),
        stop_sequence=body.get("stop_sequence"),
        usage=decode_usage(usage),
        container=body.get("container") if isinstance(body.get("container"), dict) else None,
    )


def decode_usage(usage: Any) -> Usage:
    """Anthropic's usage object (cache counts included); absent or null counts are 0. Its other
    fields are kept as they came (``Usage.claude``)."""
    if not isinstance(usage, dict):
        return Usage()
    rest = {name: value for name, value in usage.items() if name not in _USAGE_FIELDS and value is not None}
    sent_in, sent_out, written, read = (int(usage.get(name) or 0) for name in _USAGE_FIELDS)
    return Usage(sent_in, sent_out, written, read, claude=rest)


def encode_usage(usage: Usage) -> dict[str, Any]:
    return {**{name: getattr(usage, name) for name in _USAGE_FIELDS}, **usage.claude}


_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
#: Claude's usage fields a stream reports at its end (in ``message_delta``): the others come with
#: the prompt, in ``message_start``.
_FINAL_USAGE = ("server_tool_use", "iterations", "output_tokens_details", "fallback_credit")


def _decode_response_block(block: Any) -> Block | None:
    """A response block; server-tool blocks are kept verbatim, unknown ones skipped."""
    if not isinstance(block, dict):
        raise WireError(f"Anthropic content block is not an object: {block!r:.80}")
    kind = block.get("type")
    if _passed_verbatim(kind):
        return HostedToolBlock(dict(block), host="anthropic")
    try:
        if kind == "text":
            return TextBlock(str(block["text"]), citations=_citations(block.get("citations")))
        if kind == "tool_use":
            return ToolUseBlock(str(block["id"]), str(block["name"]), dict(block.get("input") or {}), claude_fields=_call_fields(block))
        if kind == "thinking":
            return ThinkingBlock(str(block["thinking"]), block.get("signature"))
        if kind == "redacted_thinking":
            return ThinkingBlock("", redacted=str(block["data"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"Anthropic {kind} block is malformed: {exc}") from None
    return None


def _citations(value: Any) -> list[dict[str, Any]] | None:
    return [c for c in value if isinstance(c, dict)] or None if isinstance(value, list) else None


def encode_response(response: Response) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in response.content:
        if isinstance(block, TextBlock):
            content.append(_encode_text(block))
        elif isinstance(block, HostedToolBlock) and block.host == "anthropic":
            content.append(block.item)
        elif isinstance(block, ToolUseBlock):
            content.append(_encode_tool_use(block, block.input))
        elif isinstance(block, ThinkingBlock):
            content.append(_encode_thinking(block))
    stop_reason = derive_stop_reason(response.content, response.stop_reason)
    return {
        "id": response.id,
        "type": "message",
        "role": "assistant",
        "model": response.model,
        "content": content,
        "stop_reason": _stop_to_wire(stop_reason),
        "stop_sequence": response.stop_sequence if stop_reason == "stop_sequence" else None,
        "usage": encode_usage(response.usage),
        **({"container": response.container} if response.container else {}),
    }


# ---------------------------------------------------------------- errors


def encode_error(status: int, error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type or error_type_for_status(status), "message": message}}


def decode_error(status: int, body: bytes) -> tuple[str, str]:
    """(error type, message) from an Anthropic error body; any body, JSON or not, gives an answer."""
    fallback_type = error_type_for_status(status)
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json_text.loads(text)
    except ValueError:
        return fallback_type, text[:500] or f"HTTP {status} with an empty body"
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        return str(error.get("type") or fallback_type), str(error.get("message") or text[:500])
    return fallback_type, text[:500]


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """Anthropic SSE bytes to canonical events.

    Block indexes are renumbered so skipped block types (those this decoder does not know) leave
    no gaps. ``event: error`` raises ``UpstreamStreamError``; ``finish`` raises ``WireError`` when
    ``message_stop`` never came.
    """

    def __init__(self) -> None:
        self._sse = SSEParser()
        #: Upstream block index to canonical index, for the blocks that are passed on.
        self._indexes: dict[int, int] = {}
        self._signatures: dict[int, str] = {}
        #: Claude's compaction blocks as they stand so far, by canonical index (the summary comes in a delta).
        self._compactions: dict[int, dict[str, Any]] = {}
        self._input_tokens = 0
        self._done = False

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for frame in self._sse.feed(data):
            events += self._frame(frame.event, frame.data)
        return events

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for frame in self._sse.flush():
            events += self._frame(frame.event, frame.data)
        if not self._done:
            raise UnterminatedStream("Anthropic stream ended without message_stop")
        return events

    def _frame(self, event_name: str | None, data: str) -> list[StreamEvent]:
        if self._done or event_name == "ping" or not data.strip():
            return []
        try:
            payload = json_text.loads(data)
        except ValueError:
            raise WireError(f"Anthropic stream frame is not JSON: {data[:120]!r}") from None
        if not isinstance(payload, dict):
            raise WireError(f"Anthropic stream frame is not an object: {data[:120]!r}")
        kind = str(payload.get("type") or event_name)
        try:
            return self._event(kind, payload)
        except WireError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WireError(f"Anthropic {kind} frame is malformed ({exc!r}): {data[:120]!r}") from None

    def _event(self, kind: str, payload: dict[str, Any]) -> list[StreamEvent]:
        if kind == "message_start":
            message = payload["message"]
            usage = decode_usage(message.get("usage"))
            self._input_tokens = usage.input_tokens
            return [MessageStart(str(message["id"]), str(message.get("model") or ""), usage)]
        if kind == "content_block_start":
            return self._block_start(int(payload["index"]), payload["content_block"])
        if kind == "content_block_delta":
            return self._block_delta(int(payload["index"]), payload["delta"])
        if kind == "content_block_stop":
            index = self._indexes.get(int(payload["index"]))
            return [] if index is None else [BlockStop(index, self._signatures.pop(index, None))]
        if kind == "message_delta":
            delta, usage = payload["delta"], decode_usage(payload.get("usage"))
            usage.input_tokens = usage.input_tokens or self._input_tokens
            return [
                MessageDelta(
                    _STOP_FROM_WIRE.get(str(delta.get("stop_reason")), "end_turn"),
                    usage,
                    delta.get("stop_sequence"),
                    container=delta.get("container") if isinstance(delta.get("container"), dict) else None,
                )
            ]
        if kind == "message_stop":
            self._done = True
            return [MessageStop()]
        if kind == "error":
            error = payload.get("error") or {}
            raise UpstreamStreamError(str(error.get("type") or "api_error"), str(error.get("message") or "error event in stream"))
        return []  # unknown event types are ignored, as the API versioning policy asks

    def _block_start(self, upstream: int, block: dict[str, Any]) -> list[StreamEvent]:
        kind = block["type"]
        server_block = _passed_verbatim(kind)
        if kind not in ("text", "tool_use", "thinking", "redacted_thinking") and not server_block:
            return []
        index = self._indexes[upstream] = len(self._indexes)
        if server_block:  # a server tool's input, if any, follows as JSON deltas; a compaction's summary whole
            if kind == "compaction":
                self._compactions[index] = dict(block)
            return [BlockStart(index, HostedToolBlock(dict(block), host="anthropic"))]
        if kind == "text":
            events: list[StreamEvent] = [BlockStart(index, TextBlock(""))]
            return events + ([TextDelta(index, block["text"])] if block.get("text") else [])
        if kind == "thinking":
            events = [BlockStart(index, ThinkingBlock("", block.get("signature") or None))]
            return events + ([ThinkingDelta(index, block["thinking"])] if block.get("thinking") else [])
        if kind == "redacted_thinking":
            return [BlockStart(index, ThinkingBlock("", redacted=str(block["data"])))]
        events = [BlockStart(index, ToolUseBlock(str(block["id"]), str(block["name"]), {}, claude_fields=_call_fields(block)))]
        return events + ([ToolInputDelta(index, json.dumps(block["input"]))] if block.get("input") else [])

    def _block_delta(self, upstream: int, delta: dict[str, Any]) -> list[StreamEvent]:
        index = self._indexes.get(upstream)
        if index is None:
            return []
        kind = delta["type"]
        if kind == "text_delta":
            return [TextDelta(index, str(delta["text"]))]
        if kind == "input_json_delta":
            return [ToolInputDelta(index, str(delta["partial_json"]))]
        if kind == "thinking_delta":
            return [ThinkingDelta(index, str(delta["thinking"]))]
        if kind == "citations_delta":
            return [TextCitation(index, dict(delta["citation"]))]
        if kind == "signature_delta":
            self._signatures[index] = str(delta["signature"])
        if kind == "compaction_delta" and index in self._compactions:
            item = self._compactions[index] = {**self._compactions[index], **{k: delta.get(k) for k in _COMPACTED}}
            return [HostedToolUpdate(index, dict(item))]
        return []


class StreamEncoder:
    """Canonical events to Anthropic SSE bytes, with the full event sequence.

    The stop reason is derived from the blocks actually emitted. Missing structure is repaired so
    the output is always a valid stream: open blocks are closed before ``message_delta``, and a
    ``message_delta`` is sent before ``message_stop`` if the events had none. ``include_usage`` is
    accepted for a uniform constructor; Anthropic streams always carry usage.
    """

    def __init__(self, model: str = "", *, include_usage: bool = False) -> None:
        self._model = model
        self._started = False
        self._open: dict[int, TextBlock | ToolUseBlock | ThinkingBlock | HostedToolBlock] = {}
        self._compactions: set[int] = set()  # the open blocks that are Claude's compactions
        self._emitted: list[Block] = []
        self._delta_sent = False
        self._finished = False

    def encode(self, event: StreamEvent) -> bytes:
        if self._finished:
            return b""
        if isinstance(event, StreamError):
            self._finished = True
            return _sse("error", {"type": "error", "error": {"type": event.error_type, "message": event.message}})
        out = b"" if self._started or isinstance(event, MessageStart) else self._message_start(MessageStart(new_message_id(), self._model))
        if isinstance(event, MessageStart):
            out += self._message_start(event)
        elif isinstance(event, BlockStart):
            out += self._block_start(event)
        elif isinstance(event, TextDelta):
            out += self._delta(event.index, {"type": "text_delta", "text": event.text})
        elif isinstance(event, ThinkingDelta):
            out += self._delta(event.index, {"type": "thinking_delta", "thinking": event.thinking})
        elif isinstance(event, ToolInputDelta):
            out += self._delta(event.index, {"type": "input_json_delta", "partial_json": event.partial_json})
        elif isinstance(event, TextCitation):
            out += self._delta(event.index, {"type": "citations_delta", "citation": event.citation})
        elif isinstance(event, HostedToolUpdate) and event.index in self._compactions:
            out += self._delta(event.index, {"type": "compaction_delta", **{k: event.item.get(k) for k in _COMPACTED}})
        elif isinstance(event, BlockStop):
            out += self._block_stop(event.index, event.signature)
        elif isinstance(event, MessageDelta):
            out += self._message_delta(event)
        elif isinstance(event, MessageStop):
            if not self._delta_sent:
                out += self._message_delta(MessageDelta("end_turn"))
            self._finished = True
            out += _sse("message_stop", {"type": "message_stop"})
        return out

    def _message_start(self, event: MessageStart) -> bytes:
        if self._started:
            return b""
        self._started = True
        message: dict[str, Any] = {
            "id": event.id,
            "type": "message",
            "role": "assistant",
            "model": event.model or self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": encode_usage(event.usage),
        }
        return _sse("message_start", {"type": "message_start", "message": message})

    def _block_start(self, event: BlockStart) -> bytes:
        block = event.block
        if isinstance(block, HostedToolBlock) and block.host != "anthropic":  # OpenAI's items: a Responses client's
            return b""
        self._open[event.index] = block
        self._emitted.append(block)
        if is_claude_compaction(block):  # its summary follows, whole
            wire: dict[str, Any] = {**block.item, **dict.fromkeys(_COMPACTED)}
            self._compactions.add(event.index)
        elif isinstance(block, HostedToolBlock):  # as Claude streamed it: a server tool's input follows as deltas
            wire = block.item
        elif isinstance(block, TextBlock):
            wire = {"type": "text", "text": ""}
        elif isinstance(block, ToolUseBlock):
            wire = _encode_tool_use(block, {})
        else:
            wire = _encode_thinking(ThinkingBlock("", redacted=block.redacted))
        out = _sse("content_block_start", {"type": "content_block_start", "index": event.index, "content_block": wire})
        if isinstance(block, TextBlock) and block.text:
            out += self._delta(event.index, {"type": "text_delta", "text": block.text})
        return out

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        if index not in self._open:
            return b""
        return _sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})

    def _block_stop(self, index: int, signature: str | None = None) -> bytes:
        block = self._open.get(index)
        if block is None:
            return b""
        out = b""
        signature = signature or (block.signature if isinstance(block, ThinkingBlock) else None)
        if isinstance(block, ThinkingBlock) and signature:
            out += self._delta(index, {"type": "signature_delta", "signature": signature})
        del self._open[index]
        return out + _sse("content_block_stop", {"type": "content_block_stop", "index": index})

    def _message_delta(self, event: MessageDelta) -> bytes:
        if self._delta_sent:
            return b""
        out = b"".join(self._block_stop(index) for index in sorted(self._open))
        self._delta_sent = True
        stop_reason = derive_stop_reason(self._emitted, event.stop_reason)
        usage: dict[str, Any] = {"output_tokens": event.usage.output_tokens}
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            if getattr(event.usage, name):
                usage[name] = getattr(event.usage, name)
        usage |= {name: value for name, value in event.usage.claude.items() if name in _FINAL_USAGE}
        delta: dict[str, Any] = {
            "stop_reason": _stop_to_wire(stop_reason),
            "stop_sequence": event.stop_sequence if stop_reason == "stop_sequence" else None,
        }
        if event.container:
            delta["container"] = event.container
        payload: dict[str, Any] = {"type": "message_delta", "delta": delta, "usage": usage}
        if event.answered_by:
            # Not part of Anthropic's schema; SDKs keep unknown fields, so a client can tell.
            payload["trooper"] = {"answered_by": event.answered_by}
        return out + _sse("message_delta", payload)


#: What a ``compaction_delta`` carries of its block: the summary and Claude's opaque metadata.
_COMPACTED = ("content", "encrypted_content")


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return format_sse(compact_json.encode(payload), event)
