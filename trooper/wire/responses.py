"""OpenAI Responses API (``POST /v1/responses``) to and from the canonical model.

A client-side codec: it decodes requests and encodes responses, streams and errors only (OpenAI's
Responses API as an upstream is ``openai_responses.py``).

A response echoes parts of its request (instructions, tools, sampling, metadata…) and has an id
Trooper mints: an ``Envelope`` holds them, and every encoding of the answer takes it. Each
canonical block is one output item at the same index: text is a ``message`` with one
``output_text`` part, a tool call a ``function_call`` (its ``call_id`` is the canonical tool-call
id), or a ``custom_tool_call`` when it calls a custom tool (see ``custom_tools``), thinking a
``reasoning`` item. Item ids derive from the response id and the index, and the
stream encoder builds its final response with ``encode_response``, so a streamed answer and the
non-streaming encoding of the same answer are the same response.

A reasoning item's ``encrypted_content`` carries what Claude needs back with its thinking (the
signature, or redacted thinking's data), tagged: opaque reasoning from elsewhere (OpenAI's own) is
then never sent to Claude as if it were Claude's. OpenAI's reasoning items (from OpenAI's
Responses API, with their ``encrypted_content`` when the client included it) reach the client
verbatim, with OpenAI's ids, and come back as they went: a thinking block holding the item
(``openai_item``), which only OpenAI's Responses API gets again (``openai_responses.py``); every
other upstream gets the conversation without it (their codecs send no thinking that is not theirs).

Built-in tools (every tool type but ``function`` and ``custom``: they run on OpenAI's servers, or
only OpenAI's models know them) are kept verbatim in ``Request.hosted_tools``, and a tool choice
naming one in ``hosted_tool_choice``; the router sends such a turn to OpenAI's Responses API or
refuses it (``routing/builtin_tools.py``). Their items (``web_search_call``…, and the client's
``computer_call_output``…) are ``HostedToolBlock``s, passed through verbatim both ways, with
OpenAI's own ids; a text's ``annotations`` (``url_citation``…) too. In a stream, their events
(``response.web_search_call.searching``…) pass through in order, renumbered.

Refused with a 400 naming the field: file inputs, structured-output formats, ``background``,
``conversation`` and prompt templates. A field the door does not read (``READ``) is passed on as
sent to the upstreams that speak this API (``extra_fields.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

from trooper import random_ids
from trooper.conversation import (
    Block,
    BlockStart,
    BlockStop,
    HostedToolBlock,
    HostedToolProgress,
    HostedToolUpdate,
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Request,
    Response,
    StreamAccumulator,
    StreamError,
    StreamEvent,
    TextAnnotation,
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
    summary_text,
)
from trooper.errors import InvalidRequest
from trooper.wire import compact_json, custom_tools, extra_fields, openai, openai_options, output_format, strict_schema
from trooper.wire import fields as f
from trooper.wire import logprobs as token_logprobs
from trooper.wire.documents import document_from_file
from trooper.wire.images import decode_image_url
from trooper.wire.resent import Resent
from trooper.wire.sse import format_sse

#: Request fields Trooper does not serve, and what to do instead.
_UNSUPPORTED = {
    "background": "answers arrive in the response or its stream",
    "conversation": "continue a conversation with previous_response_id",
    "prompt": "send the prompt's text as instructions and input",
}
#: Thinking budgets (tokens) of OpenAI's reasoning efforts, in the canonical thinking setting.
_THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 24576, "max": 32768}
#: Claude's smallest thinking budget: below it a request does not think.
_MIN_THINKING_BUDGET = 1024
_REASONING_SUMMARIES = ("auto", "concise", "detailed")
#: Tags of what a reasoning item's ``encrypted_content`` carries for Claude (see the module's docstring).
_SIGNATURE, _REDACTED = "trooper.signature:", "trooper.redacted:"
#: The tag of a compaction item's ``encrypted_content`` when Trooper compacted the conversation:
#: what follows is the summary's text, which any model reads (OpenAI's own is readable by OpenAI only).
_SUMMARY = "trooper.summary:"
#: Claude's smallest compaction trigger (input tokens).
_MIN_COMPACTION_TRIGGER = 50_000
#: The error type of a ``previous_response_id`` that names no kept response (OpenAI's code for it).
PREVIOUS_RESPONSE_NOT_FOUND = "previous_response_not_found"
_ITEM_PREFIXES = {"text": "msg", "tool_use": "fc", "thinking": "rs"}
_CUSTOM_CALL_PREFIX = "ctc"
#: Items of OpenAI's built-in tools a client may send back: those OpenAI's answers hold, and the
#: client's own answers to the tools it runs (computer use, shell, MCP approvals).
_HOSTED_ITEMS = frozenset({
    "web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call", "computer_call",
    "local_shell_call", "shell_call", "apply_patch_call", "mcp_call", "mcp_list_tools", "mcp_approval_request",
    "tool_search_call",
    # Not a tool's, but as opaque: OpenAI's compaction of the earlier conversation, for OpenAI alone.
    "compaction",
})  # fmt: skip
_CLIENT_HOSTED_ITEMS = frozenset({
    "computer_call_output", "local_shell_call_output", "shell_call_output", "apply_patch_call_output", "mcp_approval_response",
})  # fmt: skip
#: One encoder for every event and response (``json.dumps`` with options builds a new one per
#: call, and a stream of this API has several events per block).
_to_json = compact_json.encode
#: A string's JSON text, as ``_to_json`` writes it, without an encoder's round.
_json_string = compact_json.string
#: The distinct tools of requests met lately (an agent resends the same), each kept once with its JSON text.
_RESENT_TOOLS: Resent[str] = Resent(_to_json, 64)


class EchoText(NamedTuple):
    """The JSON text of what a response object echoes of its request but its id, creation time,
    previous response and tools, in the pieces that go between the answer's own values
    (``_response_text``)."""

    #: From ``instructions`` to the ``model`` member.
    to_model: str
    #: From ``parallel_tool_calls`` to the ``"previous_response_id":`` key.
    to_previous: str
    #: From ``reasoning`` to the ``"tools":`` key.
    to_tools: str
    #: From ``top_p`` to the ``"usage":`` key.
    to_usage: str
    #: ``user`` and ``metadata``, and the object's end.
    to_end: str


def _echo_text(echo: tuple[Any, ...]) -> EchoText:
    """``EchoText`` of ``(instructions, max_output_tokens, parallel_tool_calls, reasoning, store,
    temperature, text, tool_choice, top_p, truncation, user, metadata)``: each piece cut from the
    text of the keys it holds, as a whole response object's text holds them."""
    (
        instructions, max_output_tokens, parallel_tool_calls, reasoning, store, temperature, text, tool_choice, top_p,
        truncation, user, metadata,
    ) = echo  # fmt: skip

    def members(**values: Any) -> str:  # the object's text without its braces, keys in this order
        return _to_json(values)[1:-1]

    return EchoText(
        to_model=f",{members(instructions=instructions, max_output_tokens=max_output_tokens)},",
        to_previous=f",{members(parallel_tool_calls=parallel_tool_calls)},\"previous_response_id\":",
        to_tools=f",{members(reasoning=reasoning, store=store, temperature=temperature, text=text, tool_choice=tool_choice)},\"tools\":",
        to_usage=f",{members(top_p=top_p, truncation=truncation)},\"usage\":",
        to_end=f",{members(user=user, metadata=metadata)}}}",
    )


#: A response's ``text`` when its request asked for no format: plain text.
_PLAIN_TEXT = {"format": {"type": "text"}}
#: What an agent's responses echo, met lately (each turn resends the same), each with its ``EchoText``.
_RESENT_ECHOES: Resent[EchoText] = Resent(_echo_text, 64)
#: The text of a status with no error and no incomplete details, by status.
_PLAIN_STATUS = {
    status: _to_json({"status": status, "error": None, "incomplete_details": None})[1:-1]
    for status in ("in_progress", "completed", "incomplete", "failed")
}


def new_response_id() -> str:
    return "resp_" + random_ids.token_hex(24)


@dataclass
class Envelope:
    """A response's id and creation time, and what it echoes of its request. Never changed once
    made (its ``tools`` may be the list earlier envelopes echo: ``wire/resent.py``); not a frozen
    dataclass, whose ``__init__`` sets each of these fields through ``object.__setattr__`` (≈ 3 µs
    more a request)."""

    id: str
    created_at: int
    model: str
    instructions: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    #: ``tools``' JSON text, as every encoding of the response holds it.
    tools_json: str = field(init=False, default="[]")
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    max_output_tokens: int | None = None
    reasoning: dict[str, Any] | None = None
    #: The request's ``text`` (its format, its verbosity), as it came.
    text_settings: dict[str, Any] = field(default_factory=lambda: _PLAIN_TEXT)
    truncation: str = "disabled"
    metadata: dict[str, Any] = field(default_factory=dict)
    previous_response_id: str | None = None
    store: bool = True
    user: str | None = None

    #: The JSON text of every response object of this envelope's, in the pieces that go before
    #: its status, its model, its tools (``tools_json``), its usage and after it (``_response_text``).
    text: tuple[str, str, str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # An agent offers the same tools every turn: the list met before is echoed, with its text.
        if self.tools:
            self.tools, self.tools_json = _RESENT_TOOLS.get(self.tools)
        self.text = self._text()

    def _text(self) -> tuple[str, str, str, str, str]:
        # What it echoes is made once for each distinct echo an agent resends (``EchoText``).
        echo = (
            self.instructions, self.max_output_tokens, self.parallel_tool_calls, self.reasoning, self.store,
            self.temperature, self.text_settings, self.tool_choice, self.top_p, self.truncation, self.user, self.metadata,
        )  # fmt: skip
        pieces = _RESENT_ECHOES.get(echo)[1]
        previous = "null" if self.previous_response_id is None else _json_string(self.previous_response_id)
        opening = f'{{"id":{_json_string(self.id)},"object":"response","created_at":{_to_json(self.created_at)},'
        return opening, pieces.to_model, f"{pieces.to_previous}{previous}{pieces.to_tools}", pieces.to_usage, pieces.to_end

    @cached_property
    def custom_tools(self) -> frozenset[str]:
        """The names of the request's custom tools: a call of one is a ``custom_tool_call``."""
        return custom_tools.names(self.tools)

    def is_custom_call(self, block: Block) -> bool:
        return isinstance(block, ToolUseBlock) and block.name in self.custom_tools


# ---------------------------------------------------------------- request


#: What the Responses door reads itself (``decode_request``, ``envelope_for``; ``x_force_local``:
#: the forced route; ``stream_options``: of the stream Trooper writes): every other field of a body
#: is passed on as sent (``Request.extra_fields``).
READ = frozenset(
    {
        "model", "instructions", "input", "max_output_tokens", "metadata", "user", "reasoning", "tools", "tool_choice",
        "parallel_tool_calls", "temperature", "top_p", "top_k", "stream", "stream_options", "prompt_cache_key", "include",
        "top_logprobs", "text", "previous_response_id", "store", *_UNSUPPORTED, "x_force_local", *openai_options.RESPONSES,
    }
)  # fmt: skip


def decode_request(body: dict[str, Any]) -> Request:
    """The canonical request of a Responses body: its own input only (a request that continues a
    stored response gets the history put before it by the front door)."""
    model = f.field(body, "model", str, required=True)
    for name, instead in _UNSUPPORTED.items():
        if body.get(name) not in (None, False):
            raise InvalidRequest(f"{name}: not supported by Trooper; {instead}")
    instructions = f.field(body, "instructions", str)
    system = [instructions] if instructions else []
    messages = _decode_input(body, system)
    max_tokens = f.positive_int(body, "max_output_tokens")
    metadata = openai.caller_metadata(body)
    reasoning = f.field(body, "reasoning", dict) or {}
    effort = f.choice(reasoning, "effort", openai.REASONING_EFFORTS, "reasoning")
    tools, hosted_tools = _decode_tools(body)
    tool_choice, hosted_tool_choice = _decode_tool_choice(body, hosted_tools)
    include = _include(body)
    return Request(
        model=model,
        messages=messages,
        system="\n\n".join(system) if system else None,
        max_tokens=max_tokens,
        temperature=f.field(body, "temperature", float),
        top_p=f.field(body, "top_p", float),
        top_k=f.non_negative_int(body, "top_k"),  # as at the Chat Completions door
        tools=tools,
        tool_choice=tool_choice,
        hosted_tools=hosted_tools,
        hosted_tool_choice=hosted_tool_choice,
        stream=bool(f.field(body, "stream", bool)),
        metadata=metadata,
        thinking=_thinking(effort, max_tokens),
        prompt_cache_key=f.field(body, "prompt_cache_key", str),
        reasoning_effort=effort,
        reasoning_summary=f.choice(reasoning, "summary", _REASONING_SUMMARIES, "reasoning"),
        include=include,
        logprobs=token_logprobs.asked_in_responses(body, include),
        output_format=output_format.from_responses(body),
        openai_options=openai_options.from_responses(body),
        extra_fields=extra_fields.kept("responses", body, READ),
        anthropic_options=_claude_compaction(body),
        verbosity=f.choice(f.field(body, "text", dict) or {}, "verbosity", openai.VERBOSITIES, "text"),
        caches_unasked=True,
    )


def _claude_compaction(body: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's server-side compaction (``context_management: [{"type": "compaction",
    "compact_threshold": N}]``) as Claude's (``compact_20260112``, triggered at N input tokens, or
    at Claude's smallest trigger): the conversation summarised once it grows past the threshold,
    the summary given as a compaction item any model reads (``_output_item``)."""
    threshold: int | None = None
    entries = f.items(body, "context_management")
    for path, entry in entries:
        f.choice(entry, "type", ("compaction",), path, required=True)
        threshold = f.positive_int(entry, "compact_threshold", path) or threshold
    if not entries:
        return {}
    edit: dict[str, Any] = {"type": "compact_20260112"}
    if threshold is not None:
        edit["trigger"] = {"type": "input_tokens", "value": max(threshold, _MIN_COMPACTION_TRIGGER)}
    return {"context_management": {"edits": [edit]}}


def _include(body: dict[str, Any]) -> list[str]:
    """``include``: what else OpenAI's answer should hold, passed on as it came (only OpenAI knows it)."""
    values = f.field(body, "include", list) or []
    for position, value in enumerate(values):
        if not isinstance(value, str):
            raise InvalidRequest(f"{f.where('include', position)}: must be a string, got {f.json_type(value)}")
    return list(values)


def envelope_for(body: dict[str, Any]) -> Envelope:
    """The envelope of the response to ``body`` (one ``decode_request`` accepted, which checked
    that ``reasoning`` and ``metadata`` are objects), with a new id."""
    reasoning = body.get("reasoning")
    metadata = body.get("metadata") or {}
    for key, value in metadata.items():
        if value is not None and type(value) is not str:
            f.field(metadata, key, str, "metadata")  # refused: echoed back, and OpenAI's metadata holds strings
    return Envelope(
        id=new_response_id(),
        created_at=int(time.time()),
        model=body["model"],
        instructions=body.get("instructions"),
        tools=list(body.get("tools") or []),
        tool_choice=body.get("tool_choice") or "auto",
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        max_output_tokens=body.get("max_output_tokens"),
        reasoning={"effort": reasoning.get("effort"), "summary": reasoning.get("summary")} if reasoning else None,
        text_settings=_echoed_text(body.get("text")),
        truncation=body.get("truncation") or "disabled",
        metadata=dict(metadata),
        previous_response_id=f.field(body, "previous_response_id", str),
        store=f.field(body, "store", bool) is not False,
        user=body.get("user"),
    )


def _echoed_text(text: dict[str, Any] | None) -> dict[str, Any]:
    """A response's ``text``: the request's format (plain text when it named none) and verbosity."""
    if not text:
        return _PLAIN_TEXT
    return {"format": text.get("format") or _PLAIN_TEXT["format"], **({"verbosity": text["verbosity"]} if "verbosity" in text else {})}


def _decode_input(body: dict[str, Any], system: list[str]) -> list[Message]:
    """The input's messages; its system and developer messages' text goes to ``system``."""
    value = body.get("input")
    if isinstance(value, str):
        return [Message("user", [TextBlock(value)])]
    if value is not None and not isinstance(value, list):
        raise InvalidRequest(f"input: must be a string or an array of input items, got {f.json_type(value)}")
    messages: list[Message] = []
    for position, entry in enumerate(f.field(body, "input", list, required=True)):
        content = entry.get("content") if type(entry) is dict else None
        if type(content) is str and entry.get("type") in (None, "message") and entry.get("role") in ("user", "assistant"):
            # What a resent history mostly holds, taken as the general case below takes it, in fewer calls.
            if entry["role"] == "user":
                messages.append(Message("user", [TextBlock(content)]))
            elif content:
                _assistant_turn(messages).content.append(TextBlock(content))
            continue
        path = f"input[{position}]"
        item = f.object_at(path, entry)
        kind = f.field(item, "type", str, path) or "message"
        if kind == "message":
            role = f.choice(item, "role", ("user", "assistant", "system", "developer"), path, required=True)
            if role == "user":
                messages.append(Message("user", [*_user_content(path, item)]))
            elif role == "assistant":
                _assistant_turn(messages).content.extend(_assistant_content(path, item))
            else:
                system.append(_text_content(path, item))
        elif kind == "function_call":
            arguments = f.field(item, "arguments", str, path, required=True)
            call = ToolUseBlock(
                id=f.field(item, "call_id", str, path, required=True),
                name=f.field(item, "name", str, path, required=True),
                input=f.json_object(arguments, f"{path}.arguments"),
            )
            _assistant_turn(messages).content.append(call)
        elif kind == "custom_tool_call":
            call = custom_tools.call_block(
                f.field(item, "call_id", str, path, required=True),
                f.field(item, "name", str, path, required=True),
                f.field(item, "input", str, path, required=True),
            )
            _assistant_turn(messages).content.append(call)
        elif kind in ("function_call_output", "custom_tool_call_output"):
            result = ToolResultBlock(f.field(item, "call_id", str, path, required=True), _output_content(path, item))
            _tool_results_turn(messages).content.append(result)
        elif kind == "reasoning":
            _assistant_turn(messages).content.append(_decode_reasoning(path, item))
        elif kind == "compaction" and str(item.get("encrypted_content")).startswith(_SUMMARY):
            _user_turn(messages).content.append(TextBlock(summary_text(item["encrypted_content"].removeprefix(_SUMMARY))))
        elif kind in _HOSTED_ITEMS:
            _assistant_turn(messages).content.append(HostedToolBlock(item))
        elif kind in _CLIENT_HOSTED_ITEMS:
            _tool_results_turn(messages).content.append(HostedToolBlock(item))
        else:
            raise InvalidRequest(
                f"{path}.type: {kind!r} items are not supported by Trooper "
                "(it takes message, function_call, function_call_output, custom_tool_call, "
                "custom_tool_call_output, reasoning and built-in tool items)"
            )
    if not messages:
        raise InvalidRequest("input: at least one user, assistant or function_call_output item is required")
    return messages


def _assistant_turn(messages: list[Message]) -> Message:
    """The assistant message an assistant item belongs to: items in a row make one turn."""
    if not messages or messages[-1].role != "assistant":
        messages.append(Message("assistant", []))
    return messages[-1]


def _user_turn(messages: list[Message]) -> Message:
    """The user message text joins: the last one when it is the user's words, else a new one."""
    last = messages[-1] if messages else None
    if last is None or last.role != "user" or not all(isinstance(b, TextBlock) for b in last.content):
        messages.append(Message("user", []))
    return messages[-1]


def _tool_results_turn(messages: list[Message]) -> Message:
    """Outputs in a row answer one assistant turn: they make one user message of tool results
    (built-in tools' outputs among them)."""
    last = messages[-1] if messages else None
    if last is None or last.role != "user" or not all(isinstance(b, (ToolResultBlock, HostedToolBlock)) for b in last.content):
        messages.append(Message("user", []))
    return messages[-1]


def _parts(path: str, item: dict[str, Any], key: str, allowed: tuple[str, ...]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, type, part) of each part of ``item[key]``, an array of parts of the ``allowed`` types."""
    parts = []
    for part_path, part in f.items(item, key, path):
        kind = f.field(part, "type", str, part_path, required=True)
        if kind not in allowed:
            raise InvalidRequest(f"{part_path}.type: {kind!r} is not supported here (expected {' or '.join(allowed)})")
        parts.append((part_path, kind, part))
    return parts


def _content(path: str, item: dict[str, Any], key: str = "content") -> str | list[Any]:
    """A message's content (or an output): a string or an array of parts."""
    content = item.get(key)
    if not isinstance(content, (str, list)):
        raise InvalidRequest(f"{f.where(path, key)}: must be a string or an array of content parts, got {f.json_type(content)}")
    return content


def _user_content(path: str, item: dict[str, Any], key: str = "content") -> list[ToolResultPart]:
    content = _content(path, item, key)
    if isinstance(content, str):
        return [TextBlock(content)]
    parts: list[ToolResultPart] = []
    for part_path, kind, part in _parts(path, item, key, ("input_text", "input_image", "input_file")):
        if kind == "input_text":
            parts.append(TextBlock(f.field(part, "text", str, part_path, required=True)))
        elif kind == "input_image":
            parts.append(_decode_image(part_path, part))
        else:
            parts.append(document_from_file(f.field(part, "file_data", str, part_path), f.field(part, "filename", str, part_path), part_path))
    return parts


def _output_content(path: str, item: dict[str, Any]) -> list[ToolResultPart]:
    """A function call's output: text, or text and image parts."""
    return _user_content(path, item, "output")


def _decode_image(path: str, part: dict[str, Any]) -> ImageBlock:
    url = f.field(part, "image_url", str, path)
    if url is None:
        raise InvalidRequest(f"{path}.image_url: field required (Trooper has no file store: send the image as a URL or a data: URL)")
    return decode_image_url(url, f"{path}.image_url")


def _text_content(path: str, item: dict[str, Any]) -> str:
    content = _content(path, item)
    if isinstance(content, str):
        return content
    return "".join(f.field(part, "text", str, p, required=True) for p, _, part in _parts(path, item, "content", ("input_text",)))


def _assistant_content(path: str, item: dict[str, Any]) -> list[Block]:
    """An assistant message as a client resends it: text, output_text or refusal parts."""
    content = _content(path, item)
    if isinstance(content, str):
        return [TextBlock(content)] if content else []
    texts = [
        f.field(part, "refusal" if kind == "refusal" else "text", str, part_path, required=True)
        for part_path, kind, part in _parts(path, item, "content", ("output_text", "refusal", "input_text"))
    ]
    return [TextBlock(text) for text in texts if text]


def _decode_reasoning(path: str, item: dict[str, Any]) -> ThinkingBlock:
    """A reasoning item as a client resends it: Trooper's own (Claude's or a local model's thinking,
    as its text and its tagged ``encrypted_content``), OpenAI's with its ``encrypted_content``
    (kept whole, for OpenAI alone), or a summary only."""
    encrypted = f.field(item, "encrypted_content", str, path) or ""
    if encrypted.startswith(_REDACTED):
        return ThinkingBlock("", redacted=encrypted.removeprefix(_REDACTED))
    summary = [f.field(part, "text", str, p, required=True) for p, _, part in _parts(path, item, "summary", ("summary_text",))]
    if encrypted and not encrypted.startswith(_SIGNATURE):
        return ThinkingBlock("\n\n".join(summary), summary=True, openai_item=dict(item))
    texts = [f.field(part, "text", str, p, required=True) for p, _, part in _parts(path, item, "content", ("reasoning_text",))]
    if not texts:  # reasoning from elsewhere shows its summary only
        return ThinkingBlock("\n\n".join(summary), summary=True)
    return ThinkingBlock("".join(texts), encrypted.removeprefix(_SIGNATURE) or None)


def _decode_tools(body: dict[str, Any]) -> tuple[list[Tool], list[dict[str, Any]]]:
    """The function and custom tools as canonical tools, and the built-in tools as they came."""
    tools: list[Tool] = []
    hosted: list[dict[str, Any]] = []
    for path, tool in f.items(body, "tools"):
        kind = f.field(tool, "type", str, path, required=True)
        if kind == "custom":
            tools.append(custom_tools.canonical_tool(tool, path))
        elif kind == "function":
            tools.append(_strict_unless_said(openai.function_tool(tool, path)))
        else:
            hosted.append(tool)
    custom_tools.check_unique(tools)
    return tools, hosted


def _strict_unless_said(tool: Tool) -> Tool:
    """A function tool as the Responses API takes it: strict unless the client said false, its
    schema then normalised as OpenAI would (``strict_schema``); one strict mode cannot express
    (an open object) stays non-strict."""
    if tool.strict is not None:
        return tool
    schema = strict_schema.normalised(tool.input_schema)
    return tool if schema is None else replace(tool, input_schema=schema, strict=True)


def _decode_tool_choice(body: dict[str, Any], hosted: list[dict[str, Any]]) -> tuple[ToolChoice | None, dict[str, Any] | None]:
    """``tool_choice`` as both OpenAI APIs take it, or naming a custom tool (``{"type": "custom",
    "name"}``), or naming one of the built-in tools offered (``{"type": "web_search"}``), kept as it came."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "custom":
        disable_parallel = f.field(body, "parallel_tool_calls", bool) is False
        return ToolChoice("tool", _function_name(choice), disable_parallel), None
    if isinstance(choice, dict) and choice.get("type") in {tool["type"] for tool in hosted}:
        disable_parallel = f.field(body, "parallel_tool_calls", bool) is False
        return (ToolChoice("auto", disable_parallel=True) if disable_parallel else None), choice
    return openai.decode_tool_choice(body, _function_name), None


def _function_name(choice: dict[str, Any]) -> str:
    name: str = f.field(choice, "name", str, "tool_choice", required=True)
    return name


def _thinking(effort: str | None, max_tokens: int | None) -> dict[str, Any] | None:
    """The canonical thinking setting (Claude's) for ``reasoning.effort``. The budget counts in
    ``max_output_tokens``, as reasoning does in OpenAI's; a limit too small for it means no thinking."""
    if effort is None or effort == "none":
        return None
    budget = _THINKING_BUDGETS[effort] if max_tokens is None else min(_THINKING_BUDGETS[effort], max_tokens - 1)
    return {"type": "enabled", "budget_tokens": budget} if budget >= _MIN_THINKING_BUDGET else None


# ---------------------------------------------------------------- response


def encoded(response: Response, envelope: Envelope) -> tuple[dict[str, Any], str]:
    """The response body and its compact JSON text, written from the envelope's pieces by
    ``_response_text`` (the same bytes as encoding ``body``) rather than by encoding it."""
    body = encode_response(response, envelope)
    text = _response_text(
        envelope, status=body["status"], model=body["model"], output=body["output"], usage=body["usage"],
        incomplete_details=body["incomplete_details"],
    )
    return body, text


def encode_response(response: Response, envelope: Envelope) -> dict[str, Any]:
    stop_reason = derive_stop_reason(response.content, response.stop_reason)
    status, reason = _outcome(stop_reason)
    output = []
    last = len(response.content) - 1
    with_logprobs = _first_text(enumerate(response.content))
    for index, block in enumerate(response.content):
        logprobs = response.logprobs if index == with_logprobs else None
        item = _output_item(block, envelope, index, status if index == last else "completed", logprobs)
        if item is not None:
            output.append(item)
    return _response_object(
        envelope,
        model=response.model or envelope.model,
        status=status,
        output=output,
        usage=_encode_usage(response.usage),
        incomplete_details={"reason": reason} if reason else None,
    )


def _outcome(stop_reason: str) -> tuple[str, str | None]:
    """(status, incomplete reason) of an answer that stopped for ``stop_reason``."""
    if stop_reason == "max_tokens":
        return "incomplete", "max_output_tokens"
    if stop_reason == "refusal":
        return "incomplete", "content_filter"
    return "completed", None


# ``_response_object`` builds a response object; ``_response_text`` writes its text without it, in
# the same key order (``EchoText``'s pieces): a key added to one goes into the other, and the tests
# that compare each text with the whole object's serialisation fail until it does.
def _response_object(
    envelope: Envelope,
    *,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": envelope.id,
        "object": "response",
        "created_at": envelope.created_at,
        "status": status,
        "error": error,
        "incomplete_details": incomplete_details,
        "instructions": envelope.instructions,
        "max_output_tokens": envelope.max_output_tokens,
        "model": model,
        "output": output,
        "parallel_tool_calls": envelope.parallel_tool_calls,
        "previous_response_id": envelope.previous_response_id,
        "reasoning": envelope.reasoning,
        "store": envelope.store,
        "temperature": envelope.temperature,
        "text": envelope.text_settings,
        "tool_choice": envelope.tool_choice,
        "tools": envelope.tools,
        "top_p": envelope.top_p,
        "truncation": envelope.truncation,
        "usage": usage,
        "user": envelope.user,
        "metadata": envelope.metadata,
    }


def _response_text(
    envelope: Envelope,
    *,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    error: dict[str, Any] | None = None,
    incomplete_details: dict[str, Any] | None = None,
) -> str:
    """``_to_json(_response_object(envelope, …))`` byte for byte, without making the object: what
    it echoes is the envelope's text (``Envelope.text``, its tools' ``tools_json``), the answer's
    own values are encoded here."""
    opening, to_model, to_tools, to_usage, to_end = envelope.text
    outcome = _PLAIN_STATUS.get(status) if error is None and incomplete_details is None else None
    if outcome is None:
        outcome = _to_json({"status": status, "error": error, "incomplete_details": incomplete_details})[1:-1]
    answer = _to_json({"model": model, "output": output})[1:-1]
    return f"{opening}{outcome}{to_model}{answer}{to_tools}{envelope.tools_json}{to_usage}{_to_json(usage)}{to_end}"


def _item_id(block: Block, envelope: Envelope, index: int) -> str:
    if is_claude_compaction(block):
        return f"cmp_{envelope.id.removeprefix('resp_')}_{index}"
    if isinstance(block, HostedToolBlock):  # OpenAI's item, with OpenAI's id
        return str(block.item.get("id", ""))
    if isinstance(block, ThinkingBlock) and block.openai_item is not None:
        return str(block.openai_item.get("id", ""))
    prefix = _CUSTOM_CALL_PREFIX if envelope.is_custom_call(block) else _ITEM_PREFIXES[block.type]
    return f"{prefix}_{envelope.id.removeprefix('resp_')}_{index}"


def _first_text(blocks: Iterable[tuple[int, Block]]) -> int | None:
    """The place of the answer's first text (of ``(place, block)`` pairs in order): its
    ``output_text`` holds the answer's logprobs."""
    return next((index for index, block in blocks if isinstance(block, TextBlock)), None)


def _output_item(
    block: Block, envelope: Envelope, index: int, status: str, logprobs: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """A finished block as an output item; None for blocks no answer holds (images, tool results).
    ``logprobs``: a text's tokens' log probabilities, when it holds the answer's."""
    if isinstance(block, TextBlock):
        content = [_text_part(block.text, block.annotations, logprobs)]
        return {"id": _item_id(block, envelope, index), "type": "message", "role": "assistant", "status": status, "content": content}
    if is_claude_compaction(block):  # its summary, tagged as Trooper's
        return {"id": _item_id(block, envelope, index), "type": "compaction", "encrypted_content": _SUMMARY + (block.summary() or "")}
    if isinstance(block, HostedToolBlock):
        return block.item
    if envelope.is_custom_call(block):
        assert isinstance(block, ToolUseBlock)
        return _custom_tool_call(block, envelope, index, custom_tools.call_input(block))
    if isinstance(block, ToolUseBlock):
        arguments = json.dumps(block.input, ensure_ascii=False)
        return _function_call(block, envelope, index, arguments, status)
    if isinstance(block, ThinkingBlock) and block.openai_item is not None:
        return block.openai_item
    if isinstance(block, ThinkingBlock):
        item = _reasoning_item(block, envelope, index, status)
        if block.redacted is not None:
            item["encrypted_content"] = _REDACTED + block.redacted
            return item
        if block.summary:
            item["summary"] = [_summary_part(block.thinking)]
            return item
        item["content"] = [_reasoning_part(block.thinking)]
        if block.signature:
            item["encrypted_content"] = _SIGNATURE + block.signature
        return item
    return None


def _text_part(text: str, annotations: list[dict[str, Any]] | None = None, logprobs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": list(annotations or []), "logprobs": list(logprobs or [])}


def _reasoning_part(text: str) -> dict[str, Any]:
    return {"type": "reasoning_text", "text": text}


def _summary_part(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def _function_call(block: ToolUseBlock, envelope: Envelope, index: int, arguments: str, status: str) -> dict[str, Any]:
    return {
        "id": _item_id(block, envelope, index),
        "type": "function_call",
        "call_id": block.id,
        "name": block.name,
        "arguments": arguments,
        "status": status,
    }


def _custom_tool_call(block: ToolUseBlock, envelope: Envelope, index: int, text: str) -> dict[str, Any]:
    """A call of a custom tool: its input is one string (the SDK's item has no ``status``)."""
    return {"id": _item_id(block, envelope, index), "type": "custom_tool_call", "call_id": block.id, "name": block.name, "input": text}


def _reasoning_item(block: ThinkingBlock, envelope: Envelope, index: int, status: str) -> dict[str, Any]:
    return {"id": _item_id(block, envelope, index), "type": "reasoning", "summary": [], "status": status}


def _encode_usage(usage: Usage) -> dict[str, Any]:
    """Usage in the Responses shape: every prompt token in ``input_tokens``, those read from and
    written to the provider's cache in its details."""
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_input_tokens,
            "cache_write_tokens": usage.cache_creation_input_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
    }


# ---------------------------------------------------------------- compaction


def encode_compaction(envelope: Envelope, kept: list[str], summary: str, usage: Usage) -> dict[str, Any]:
    """``POST /v1/responses/compact``'s answer, in OpenAI's shape: the user messages ``kept``, then
    one compaction item, whose content is the ``summary`` (tagged as Trooper's, read back by
    ``decode_request`` as text any model reads)."""
    users = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]} for text in kept]
    compaction = {"type": "compaction", "id": "cmp_" + random_ids.token_hex(24), "encrypted_content": _SUMMARY + summary}
    return {
        "id": envelope.id,
        "object": "response.compaction",
        "created_at": envelope.created_at,
        "output": [*users, compaction],
        "usage": _encode_usage(usage),
    }


# ---------------------------------------------------------------- errors


def encode_error(status: int, error_type: str, message: str) -> dict[str, Any]:
    """OpenAI's error shape; an unknown ``previous_response_id`` has its own code and names its field."""
    body = openai.encode_error(status, error_type, message)
    if error_type == PREVIOUS_RESPONSE_NOT_FOUND:
        body["error"].update(type="invalid_request_error", code=PREVIOUS_RESPONSE_NOT_FOUND, param="previous_response_id")
    return body


# ---------------------------------------------------------------- streaming


class StreamEncoder:
    """Canonical events to the Responses API's event stream, every event numbered.

    ``response.created`` and ``response.in_progress`` open it; each block is an output item
    (``output_item.added``, its content part, deltas, the ``.done`` events, ``output_item.done``);
    ``response.completed`` (or ``response.incomplete``) ends it with ``encode_response`` of what
    was streamed. A custom tool call's input is one ``custom_tool_call_input.delta`` when the call
    ends: the upstream streams it as JSON arguments, and only the whole of them holds the string. A
    block's closing events wait for the event after its ``BlockStop``: a
    ``MessageDelta`` saying the answer was cut short there makes that item incomplete. A
    ``StreamError`` ends the stream with ``response.failed``, holding the items finished so far.
    A built-in tool's item opens with OpenAI's item and its progress events pass through as they
    came (``response.web_search_call.searching``…), with the item's id and this stream's numbers;
    a text's annotations are ``response.output_text.annotation.added`` events. A reasoning
    summary's part opens with its first text.

    A kept response is the final one: ``final`` encodes and serialises it once, for the door to
    keep, and the last event sends that same text.
    """

    def __init__(self, envelope: Envelope) -> None:
        self._envelope = envelope
        self._answer = StreamAccumulator()
        self._sequence = 0
        self._started = False
        self._finished = False
        self._delta_seen = False
        self._open: set[int] = set()
        #: The block stopped last, whose closing events wait for the next event.
        self._stopped: int | None = None
        self._done: dict[int, dict[str, Any]] = {}
        #: Summary blocks whose summary part is open: it opens with its first text.
        self._summarised: set[int] = set()
        #: The final response and its JSON text, once ``final`` has made them.
        self._final: tuple[dict[str, Any], str] | None = None
        #: The ids of the message items opened, by index: their text deltas are most of a stream.
        self._message_ids: dict[int, str] = {}

    def final(self, response: Response) -> tuple[dict[str, Any], str]:
        """The stream's final response to ``response`` (the answer as the turn recorded it) and its
        JSON text, which the last event then sends as they are: what the door keeps is what the
        client received, encoded once."""
        self._final = encoded(response, self._envelope)
        return self._final

    def encode(self, event: StreamEvent) -> bytes:
        if self._finished:
            return b""
        out = b"" if self._started else self._start(event)
        if isinstance(event, StreamError):
            return out + self._close_stopped("completed") + self._fail(event)
        if isinstance(event, MessageDelta):
            return out + self._message_delta(event)
        if isinstance(event, MessageStop):
            out += b"" if self._delta_seen else self._message_delta(MessageDelta("end_turn"))
            return out + self._close_stopped("completed") + self._complete()
        if isinstance(event, BlockStart):
            out += self._close_stopped("completed")
            self._answer.add(event)
            return out + self._block_start(event)
        if isinstance(event, MessageStart):
            self._answer.add(event)
            return out
        if event.index not in self._open:
            return out
        self._answer.add(event)
        if isinstance(event, BlockStop):
            return out + self._stop(event.index)
        return out + self._delta(event)

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return format_sse(_to_json(payload), kind)

    def _start(self, event: StreamEvent) -> bytes:
        self._started = True
        model = event.model if isinstance(event, MessageStart) and event.model else self._envelope.model
        text = _response_text(self._envelope, model=model, status="in_progress", output=[], usage=None)  # both events hold it
        return self._response_event("response.created", text) + self._response_event("response.in_progress", text)

    def _item_fields(self, index: int) -> dict[str, Any]:
        return {"item_id": _item_id(self._answer.blocks[index], self._envelope, index), "output_index": index}

    def _block_start(self, event: BlockStart) -> bytes:
        index, block = event.index, event.block
        self._open.add(index)
        if is_claude_compaction(block):  # added when its summary has come
            return b""
        if isinstance(block, HostedToolBlock):
            return self._event("response.output_item.added", output_index=index, item=block.item)
        if self._envelope.is_custom_call(block):
            assert isinstance(block, ToolUseBlock)
            item = _custom_tool_call(block, self._envelope, index, "")
            return self._event("response.output_item.added", output_index=index, item=item)
        if isinstance(block, ToolUseBlock):
            item = _function_call(block, self._envelope, index, "", "in_progress")
            return self._event("response.output_item.added", output_index=index, item=item)
        if isinstance(block, ThinkingBlock):
            item = _reasoning_item(block, self._envelope, index, "in_progress")
            if block.redacted is not None:
                item["encrypted_content"] = _REDACTED + block.redacted
                return self._event("response.output_item.added", output_index=index, item=item)
            if block.summary:
                return self._event("response.output_item.added", output_index=index, item=item)
            item["content"] = []
            part = _reasoning_part("")
        else:
            item_id = self._message_ids[index] = _item_id(block, self._envelope, index)
            item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
            part = _text_part("")
        out = self._event("response.output_item.added", output_index=index, item=item)
        out += self._event("response.content_part.added", **self._item_fields(index), content_index=0, part=part)
        if isinstance(block, TextBlock) and block.text:
            out += self._delta(TextDelta(index, block.text))
        return out

    def _delta(
        self, event: TextDelta | ThinkingDelta | ToolInputDelta | TextAnnotation | TextCitation | HostedToolProgress | HostedToolUpdate
    ) -> bytes:
        if isinstance(event, TextDelta) and event.text and event.index in self._message_ids:
            return self._text_delta(event.index, event.text, event.logprobs)
        if isinstance(event, TextCitation):  # Claude's citations: the Responses API has its own annotations
            return b""
        fields = self._item_fields(event.index)
        if isinstance(event, TextAnnotation):
            block = self._answer.blocks[event.index]
            assert isinstance(block, TextBlock) and block.annotations  # the accumulator has just added it
            return self._event(
                "response.output_text.annotation.added", **fields, content_index=0,
                annotation_index=len(block.annotations) - 1, annotation=event.annotation,
            )
        if isinstance(event, HostedToolProgress):
            return self._event(event.kind, **fields, **event.fields)
        if isinstance(event, HostedToolUpdate):  # its item is sent whole by output_item.done
            return b""
        if isinstance(event, TextDelta) and event.text:
            return self._event("response.output_text.delta", **fields, content_index=0, delta=event.text, logprobs=event.logprobs or [])
        if isinstance(event, ThinkingDelta) and event.thinking:
            block = self._answer.blocks[event.index]
            if isinstance(block, ThinkingBlock) and block.summary:
                out = b""
                if event.index not in self._summarised:
                    self._summarised.add(event.index)
                    out = self._event("response.reasoning_summary_part.added", **fields, summary_index=0, part=_summary_part(""))
                return out + self._event("response.reasoning_summary_text.delta", **fields, summary_index=0, delta=event.thinking)
            return self._event("response.reasoning_text.delta", **fields, content_index=0, delta=event.thinking)
        custom = self._envelope.is_custom_call(self._answer.blocks[event.index])
        if isinstance(event, ToolInputDelta) and event.partial_json and not custom:  # a custom call's input comes whole
            return self._event("response.function_call_arguments.delta", **fields, delta=event.partial_json)
        return b""

    def _text_delta(self, index: int, text: str, logprobs: list[dict[str, Any]] | None) -> bytes:
        """``_event("response.output_text.delta", …)`` of a message item's text, byte for byte,
        written without making the event's object: the event most of a stream is."""
        payload = (
            f'{{"type":"response.output_text.delta","sequence_number":{self._sequence},"item_id":{_json_string(self._message_ids[index])},'
            f'"output_index":{index},"content_index":0,"delta":{_json_string(text)},"logprobs":{_to_json(logprobs) if logprobs else "[]"}}}'
        )
        self._sequence += 1
        return format_sse(payload, "response.output_text.delta")

    def _stop(self, index: int) -> bytes:
        out = self._close_stopped("completed")
        self._open.discard(index)
        self._stopped = index
        return out

    def _close_stopped(self, status: str) -> bytes:
        """The closing events of the block stopped last, its item ``status`` now known."""
        index, self._stopped = self._stopped, None
        if index is None:
            return b""
        block = self._answer.blocks[index]
        logprobs = self._answer.logprobs if index == _first_text(self._answer.blocks.items()) else None
        item = _output_item(block, self._envelope, index, status, logprobs)
        assert item is not None  # a streamed block is text, a tool call, thinking or a built-in tool's item
        fields = self._item_fields(index)
        out = b""
        if is_claude_compaction(block):
            out += self._event("response.output_item.added", output_index=index, item=item)
        if isinstance(block, TextBlock):
            out += self._event("response.output_text.done", **fields, content_index=0, text=block.text, logprobs=logprobs or [])
            part = _text_part(block.text, block.annotations, logprobs)
            out += self._event("response.content_part.done", **fields, content_index=0, part=part)
        elif self._envelope.is_custom_call(block):
            if item["input"]:
                out += self._event("response.custom_tool_call_input.delta", **fields, delta=item["input"])
            out += self._event("response.custom_tool_call_input.done", **fields, input=item["input"])
        elif isinstance(block, ToolUseBlock):
            out += self._event("response.function_call_arguments.done", **fields, arguments=item["arguments"])
        elif isinstance(block, ThinkingBlock) and block.summary and index in self._summarised:
            out += self._event("response.reasoning_summary_text.done", **fields, summary_index=0, text=block.thinking)
            out += self._event("response.reasoning_summary_part.done", **fields, summary_index=0, part=_summary_part(block.thinking))
        elif isinstance(block, ThinkingBlock) and not block.summary and block.redacted is None:
            out += self._event("response.reasoning_text.done", **fields, content_index=0, text=block.thinking)
            out += self._event("response.content_part.done", **fields, content_index=0, part=_reasoning_part(block.thinking))
        self._done[index] = item
        return out + self._event("response.output_item.done", output_index=index, item=item)

    def _message_delta(self, event: MessageDelta) -> bytes:
        out = b""
        for index in sorted(self._open):  # blocks left open end here
            self._answer.add(BlockStop(index))
            out += self._stop(index)
        self._delta_seen = True
        self._answer.add(event)
        blocks = [self._answer.blocks[i] for i in sorted(self._answer.blocks)]
        status, _ = _outcome(derive_stop_reason(blocks, event.stop_reason))
        return out + self._close_stopped(status)

    def _complete(self) -> bytes:
        self._finished = True
        self._answer.add(MessageStop())
        body, text = self._final or self.final(self._answer.response())
        kind = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
        return self._response_event(kind, text)

    def _fail(self, error: StreamError) -> bytes:
        self._finished = True
        code = "rate_limit_exceeded" if error.error_type == "rate_limit_error" else "server_error"
        output = [self._done[index] for index in sorted(self._done)]
        text = _response_text(
            self._envelope, model=self._answer.model or self._envelope.model, status="failed", output=output, usage=None,
            error={"code": code, "message": error.message},
        )
        return self._response_event("response.failed", text)

    def _response_event(self, kind: str, text: str) -> bytes:
        """``_event(kind, response=…)`` with the response's JSON ``text`` spliced in: the same bytes."""
        payload = f'{{"type":{_to_json(kind)},"sequence_number":{self._sequence},"response":{text}}}'
        self._sequence += 1
        return format_sse(payload, kind)
