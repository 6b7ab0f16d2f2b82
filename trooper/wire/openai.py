"""OpenAI Chat Completions (``POST /v1/chat/completions``) to and from the canonical model.

Also the codec for Gemini's OpenAI-compatible endpoint and local OpenAI-compatible servers
(llama-server, LM Studio, vLLM), whose streams differ from OpenAI's in ways handled here: tool-call
deltas without ``index`` or with the same ``index`` for different calls (Gemini), ``finish_reason``
``stop`` after a tool call (fixed by deriving the stop reason), ``reasoning_content`` deltas
(decoded as thinking), error bodies that are a JSON array (Gemini), and Gemini's
``extra_content.google.thought_signature`` on tool calls (kept on the canonical tool call, shown to
OpenAI callers and sent back to Gemini).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from typing import Any, Hashable

from trooper import json_text
from trooper.conversation import (
    Block,
    BlockStart,
    HostedToolBlock,
    ImageBlock,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    Request,
    Response,
    StopReason,
    StreamError,
    StreamEvent,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    Tool,
    ToolChoice,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    derive_stop_reason,
)
from trooper.errors import InvalidRequest, error_type_for_status
from trooper.wire import compact_json, extra_fields, openai_options, output_format
from trooper.wire import fields as f
from trooper.wire import logprobs as token_logprobs
from trooper.wire.documents import document_from_file, inline_file
from trooper.wire.errors import UnterminatedStream, UpstreamStreamError, WireError
from trooper.wire.images import decode_image_url
from trooper.wire.sequencer import BlockSequencer
from trooper.wire.sse import SSEParser, format_sse

_STOP_FROM_WIRE: dict[str, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_STOP_TO_WIRE = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",  # only Claude's server tools pause, and only the Messages door offers them
    "compaction": "stop",  # only Claude compacts, when asked by a setting only the Messages door takes
    "error": "stop",
}

#: Canonical error type to OpenAI's (type, code).
_ERRORS_TO_WIRE: dict[str, tuple[str, str | None]] = {
    "invalid_request_error": ("invalid_request_error", None),
    "authentication_error": ("invalid_request_error", "invalid_api_key"),
    "permission_error": ("invalid_request_error", "permission_denied"),
    "not_found_error": ("invalid_request_error", "not_found"),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit_error": ("requests", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "overloaded_error": ("server_error", "overloaded"),
    "timeout_error": ("server_error", "timeout"),
}
#: OpenAI's type or code to the canonical error type, for error frames that carry no HTTP status.
_ERRORS_FROM_WIRE = {
    "invalid_api_key": "authentication_error",
    "rate_limit_exceeded": "rate_limit_error",
    "insufficient_quota": "rate_limit_error",
    "requests": "rate_limit_error",
    "tokens": "rate_limit_error",
    "server_error": "api_error",
    "invalid_request_error": "invalid_request_error",
    "context_length_exceeded": "invalid_request_error",
}

#: Models that take ``max_completion_tokens`` and reject ``max_tokens``.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5|codex-)")
#: OpenAI's models that its Responses API alone serves (Chat Completions refuses them: "This model
#: is only supported in v1/responses"): the Codex models, the -pro reasoning models, computer use,
#: deep research.
_RESPONSES_ONLY_MODEL = re.compile(r"^(o1-pro|o3-pro|gpt-5-pro|computer-use-)|codex|deep-research")
#: The reasoning efforts OpenAI's APIs take (the openai SDK's ``ReasoningEffort``).
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
#: The verbosities of GPT-5 models' answers (``verbosity``; the Responses API's ``text.verbosity``),
#: which other models refuse.
VERBOSITIES = ("low", "medium", "high")
#: The most output tokens a model accepts to be asked for, by model-name prefix (the longest that
#: matches): a larger ask is refused with a 400. Claude Code asks for 32,000, which must still
#: reach gpt-4o-mini as an answer when it is the fallback. Models not listed are asked as sent.
OUTPUT_LIMITS = {
    "gpt-3.5-turbo": 4_096,
    "gpt-4-turbo": 4_096,
    "gpt-4o": 16_384,
    "gpt-4.1": 32_768,
    "gemini-1.5": 8_192,
    "gemini-2.0": 8_192,
    "gemini-2.5": 65_536,
    "gemini-3": 64_000,
}
#: What Google documents for a tool call that has no ``thought_signature`` because another model
#: made it (a conversation moved to Gemini): Gemini 3 accepts it instead of refusing the request.
SIGNATURE_BYPASS = "skip_thought_signature_validator"


def _new_call_id() -> str:
    return "call_" + secrets.token_hex(12)


# ---------------------------------------------------------------- request


#: Chat Completions fields whose answer Trooper cannot give, and what to do instead: refused, not
#: answered without them in silence.
_UNSUPPORTED = {
    "functions": "send them as tools",
    "function_call": "send tool_choice",
    "audio": "ask for a text answer",
}
#: What the Chat Completions door reads itself (``decode_request``; ``x_force_local``: the forced
#: route): every other field of a body is passed on as sent (``Request.extra_fields``).
READ = frozenset(
    {
        "model", "n", "messages", "stream", "stream_options", "max_completion_tokens", "max_tokens", "metadata", "user",
        "temperature", "top_p", "top_k", "stop", "tools", "tool_choice", "parallel_tool_calls", "prompt_cache_key",
        "reasoning_effort", "response_format", "verbosity", "logprobs", "top_logprobs", "modalities", *_UNSUPPORTED,
        "x_force_local", *openai_options.CHAT,
    }
)  # fmt: skip


def decode_request(body: dict[str, Any]) -> Request:
    model = f.field(body, "model", str, required=True)
    n = f.field(body, "n", int)
    if n is not None and n != 1:
        raise InvalidRequest(f"n: only 1 choice per request is supported, got {n}")
    _refuse_unsupported(body)
    system: list[TextBlock] = []
    messages: list[Message] = []
    for path, message in f.items(body, "messages", required=True):
        role = f.choice(message, "role", ("system", "developer", "user", "assistant", "tool"), path, required=True)
        if role in ("system", "developer"):
            system.append(_text_content(path, message))
        elif role == "tool":
            result = ToolResultBlock(f.field(message, "tool_call_id", str, path, required=True), [_text_content(path, message)])
            if messages and messages[-1].role == "user" and all(isinstance(b, ToolResultBlock) for b in messages[-1].content):
                messages[-1].content.append(result)  # consecutive tool messages answer one assistant turn
            else:
                messages.append(Message("user", [result]))
        elif role == "user":
            messages.append(Message("user", _hinted_last(_user_content(path, message), message, path)))
        else:
            messages.append(Message("assistant", _hinted_last(_assistant_content(path, message), message, path)))
    if not messages:
        raise InvalidRequest("messages: at least one user or assistant message is required")
    stream = bool(f.field(body, "stream", bool))
    stream_options = f.field(body, "stream_options", dict) or {}
    max_tokens = f.positive_int(body, "max_completion_tokens") or f.positive_int(body, "max_tokens")
    metadata = caller_metadata(body)
    return Request(
        model=model,
        messages=messages,
        system="\n\n".join(block.text for block in system) if system else None,
        # As blocks only when one carries a cache hint: Claude gets its system prompt as sent otherwise.
        system_blocks=system if any(block.cache_control for block in system) else None,
        max_tokens=max_tokens,
        temperature=f.field(body, "temperature", float),
        top_p=f.field(body, "top_p", float),
        # Not OpenAI's, but local servers' (vLLM, llama-server, LM Studio), Ollama's and Claude's.
        top_k=f.non_negative_int(body, "top_k"),
        stop=f.string_list(body, "stop"),
        tools=[_decode_tool(path, t) for path, t in f.items(body, "tools")],
        tool_choice=decode_tool_choice(body, _function_name),
        stream=stream,
        include_usage=stream and bool(f.field(stream_options, "include_usage", bool, "stream_options")),
        metadata=metadata,
        prompt_cache_key=f.field(body, "prompt_cache_key", str),
        # Not made a thinking budget for Claude: this API's answers cannot carry Claude's signed
        # thinking back, and Claude refuses a thinking turn's tool results without it.
        reasoning_effort=f.choice(body, "reasoning_effort", REASONING_EFFORTS),
        output_format=output_format.from_chat(body),
        openai_options=openai_options.from_chat(body),
        extra_fields=extra_fields.kept("chat", body, READ),
        verbosity=f.choice(body, "verbosity", VERBOSITIES),
        logprobs=token_logprobs.asked_in_chat(body),
        caches_unasked=True,
    )


def _refuse_unsupported(body: dict[str, Any]) -> None:
    for name, instead in _UNSUPPORTED.items():
        if body.get(name) is not None:
            raise InvalidRequest(f"{name}: not supported by Trooper; {instead}")
    modalities = f.string_list(body, "modalities")
    if any(modality != "text" for modality in modalities):
        raise InvalidRequest(f"modalities: only text answers are supported by Trooper, got {', '.join(modalities)}")


# Prompt-cache hints: Chat Completions has none of its own (OpenAI caches every prompt's prefix
# unasked), but clients that reach Claude through OpenRouter or LiteLLM put Claude's
# ``cache_control`` on a content part, on a message (its last part) or on a tool. Trooper reads
# them where they put them; only Claude gets them (``Request.caches_unasked`` covers the rest).


def _text_content(path: str, message: dict[str, Any]) -> TextBlock:
    """A system, developer or tool message's content (a string or text parts) as one text, with
    the last cache hint on it or its parts: a hint caches the prompt up to the end of its message."""
    content = message.get("content")
    hint = f.cache_control(message, path)
    if isinstance(content, str):
        return TextBlock(content, cache_control=hint)
    if content is None:
        return TextBlock("", cache_control=hint)
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}.content: must be a string or an array of text parts, got {f.json_type(content)}")
    texts = []
    for part_path, part in f.items(message, "content", path):
        f.choice(part, "type", ("text",), part_path, required=True)
        texts.append(f.field(part, "text", str, part_path, required=True))
        hint = f.cache_control(part, part_path) or hint
    return TextBlock("".join(texts), cache_control=hint)


def _hinted_last(blocks: list[Block], message: dict[str, Any], path: str) -> list[Block]:
    """``blocks`` with the cache hint of their message on the last one (a part's own hint stays)."""
    if "cache_control" not in message:  # most messages: no hint to read
        return blocks
    hint = f.cache_control(message, path)
    last = blocks[-1] if blocks else None
    if hint is not None and isinstance(last, (TextBlock, ImageBlock, ToolUseBlock)) and last.cache_control is None:
        last.cache_control = hint
    return blocks


def _user_content(path: str, message: dict[str, Any]) -> list[Block]:
    content = message.get("content")
    if isinstance(content, str):
        return [TextBlock(content)]
    if not isinstance(content, list):
        raise InvalidRequest(f"{path}.content: must be a string or an array of content parts, got {f.json_type(content)}")
    blocks: list[Block] = []
    for part_path, part in f.items(message, "content", path):
        kind = f.choice(part, "type", ("text", "image_url", "file"), part_path, required=True)
        if kind == "text":
            blocks.append(TextBlock(f.field(part, "text", str, part_path, required=True), cache_control=f.cache_control(part, part_path)))
        elif kind == "file":
            file = f.field(part, "file", dict, part_path, required=True)
            file_path = f"{part_path}.file"
            blocks.append(document_from_file(f.field(file, "file_data", str, file_path), f.field(file, "filename", str, file_path), file_path))
        else:
            image = f.field(part, "image_url", dict, part_path, required=True)
            decoded = decode_image_url(f.field(image, "url", str, f"{part_path}.image_url", required=True), f"{part_path}.image_url.url")
            decoded.cache_control = f.cache_control(part, part_path)
            blocks.append(decoded)
    return blocks


def _assistant_content(path: str, message: dict[str, Any]) -> list[Block]:
    content = message.get("content")
    blocks: list[Block] = []
    if isinstance(content, str):
        if content:
            blocks.append(TextBlock(content))
    elif isinstance(content, list):
        for part_path, part in f.items(message, "content", path):
            kind = f.choice(part, "type", ("text", "refusal"), part_path, required=True)
            blocks.append(TextBlock(f.field(part, kind, str, part_path, required=True), cache_control=f.cache_control(part, part_path)))
    elif content is not None:
        raise InvalidRequest(f"{path}.content: must be a string, an array of text parts or null, got {f.json_type(content)}")
    for call_path, call in f.items(message, "tool_calls", path):
        f.choice(call, "type", ("function",), call_path)
        function = f.field(call, "function", dict, call_path, required=True)
        fn_path = f"{call_path}.function"
        arguments = f.field(function, "arguments", str, fn_path) or ""
        blocks.append(
            ToolUseBlock(
                id=f.field(call, "id", str, call_path, required=True),
                name=f.field(function, "name", str, fn_path, required=True),
                input=f.json_object(arguments, f"{fn_path}.arguments"),
                signature=_thought_signature(call),
            )
        )
    return blocks


def _thought_signature(call: Any) -> str | None:
    """Gemini's ``thought_signature`` of a tool call (``extra_content.google``), if it has one."""
    extra = call.get("extra_content") if isinstance(call, dict) else None
    google = extra.get("google") if isinstance(extra, dict) else None
    signature = google.get("thought_signature") if isinstance(google, dict) else None
    return signature if isinstance(signature, str) and signature else None


def _with_signature(call: dict[str, Any], signature: str | None) -> dict[str, Any]:
    if signature:
        call["extra_content"] = {"google": {"thought_signature": signature}}
    return call


def _wire_call(block: ToolUseBlock, signature: str | None) -> dict[str, Any]:
    call = {"id": block.id, "type": "function", "function": {"name": block.name, "arguments": json.dumps(block.input, ensure_ascii=False)}}
    return _with_signature(call, signature)


def _decode_tool(path: str, tool: dict[str, Any]) -> Tool:
    f.choice(tool, "type", ("function",), path, required=True)
    decoded = function_tool(f.field(tool, "function", dict, path, required=True), f"{path}.function")
    decoded.cache_control = f.cache_control(tool, path)
    return decoded


def function_tool(function: dict[str, Any], path: str) -> Tool:
    """A function tool from its ``name``, ``description``, ``parameters`` and ``strict`` (both
    OpenAI APIs name them so; Responses puts them on the tool itself); no parameters is an empty
    object schema."""
    parameters = f.field(function, "parameters", dict, path)
    return Tool(
        name=f.field(function, "name", str, path, required=True),
        description=f.field(function, "description", str, path) or "",
        input_schema=parameters if parameters is not None else {"type": "object", "properties": {}},
        strict=f.field(function, "strict", bool, path),
    )


def decode_tool_choice(body: dict[str, Any], function_name: Callable[[dict[str, Any]], str]) -> ToolChoice | None:
    """``tool_choice`` and ``parallel_tool_calls`` as both OpenAI APIs take them: a word (auto, none,
    required) or a function object, whose name ``function_name`` reads (each API nests it its way)."""
    choice = body.get("tool_choice")
    disable_parallel = f.field(body, "parallel_tool_calls", bool) is False
    if choice is None:
        return ToolChoice("auto", disable_parallel=True) if disable_parallel else None
    if isinstance(choice, str):
        kinds = {"auto": "auto", "none": "none", "required": "any"}
        if choice not in kinds:
            raise InvalidRequest(f"tool_choice: must be one of auto, none, required or a function object; got {choice!r}")
        return ToolChoice(kinds[choice], disable_parallel=disable_parallel)  # type: ignore[arg-type]  # a kind, as mapped
    if not isinstance(choice, dict):
        raise InvalidRequest(f"tool_choice: must be a string or an object, got {f.json_type(choice)}")
    f.choice(choice, "type", ("function",), "tool_choice", required=True)
    return ToolChoice("tool", function_name(choice), disable_parallel)


def _function_name(choice: dict[str, Any]) -> str:
    function = f.field(choice, "function", dict, "tool_choice", required=True)
    name: str = f.field(function, "name", str, "tool_choice.function", required=True)
    return name


def caller_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped request's ``metadata``, with its ``user`` as ``user_id`` (the canonical
    name, which session identity reads)."""
    metadata = dict(f.field(body, "metadata", dict) or {})
    user = f.field(body, "user", str)
    if user:
        metadata.setdefault("user_id", user)
    return metadata


def encode_request(
    request: Request,
    model: str,
    *,
    stream: bool,
    num_ctx: int | None = None,
    tool_call_signatures: bool = False,
    openai_settings: bool = False,
    logprobs: bool = False,
    local_server: bool = False,
) -> dict[str, Any]:
    """The body for ``POST .../chat/completions``. ``num_ctx`` is Ollama-only and ignored.

    ``tool_call_signatures`` (Gemini): assistant tool calls carry their ``thought_signature``,
    which Gemini 3 requires back; the first call of a turn that has none (it came from another
    model) carries Google's documented bypass value instead. Other upstreams get no signatures.
    ``openai_settings`` (OpenAI's own API, which other servers may refuse): the client's
    ``prompt_cache_key``, its settings only OpenAI knows (``wire/openai_options.py``), its tools'
    ``strict`` (when the client said it), its reasoning effort for a reasoning model (OpenAI
    refuses it, 400, for one that does not reason: gpt-4o-mini answering a fallback) and its
    verbosity for a GPT-5 model are passed on. ``logprobs``: the server gives token log
    probabilities (OpenAI, a local OpenAI-compatible server), so the client's ask for them is sent.
    ``local_server`` (llama-server, LM Studio, vLLM): the client's ``top_k`` is sent, which these
    servers take and OpenAI refuses (400). OpenAI and a local server get the fields of the client's
    body Trooper does not read (``wire/extra_fields.py``).
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for message in request.messages:
        messages += _encode_message(message, tool_call_signatures)
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    if request.max_tokens is not None:
        body["max_completion_tokens" if _REASONING_MODEL.match(model) else "max_tokens"] = _within_output_limit(
            request.max_tokens, model
        )
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if local_server and request.top_k is not None:
        body["top_k"] = request.top_k
    if request.stop:
        body["stop"] = list(request.stop)
    if request.tools:
        body["tools"] = [{"type": "function", "function": _encode_function(t, openai_settings)} for t in request.tools]
        if request.tool_choice is not None:
            body["tool_choice"] = _encode_tool_choice(request.tool_choice)
            if request.tool_choice.disable_parallel:
                body["parallel_tool_calls"] = False
    if request.output_format is not None:
        body["response_format"] = output_format.to_chat(request.output_format)
    if openai_settings:
        _add_openai_settings(body, request, model)
    if logprobs and request.logprobs is not None:
        body.update(token_logprobs.ask(request.logprobs))
    if local_server:
        body.update(openai_options.for_api(request.openai_options, openai_options.LOCAL_SAMPLING))
    if local_server or (openai_settings and extra_fields.meant_for(request, model)):
        extra_fields.add(body, request, "chat", either_api=local_server)
    return body


def _add_openai_settings(body: dict[str, Any], request: Request, model: str) -> None:
    if request.prompt_cache_key:
        body["prompt_cache_key"] = request.prompt_cache_key
    if request.reasoning_effort is not None and _REASONING_MODEL.match(model):
        body["reasoning_effort"] = request.reasoning_effort
    if request.verbosity is not None and takes_verbosity(model):
        body["verbosity"] = request.verbosity
    body.update(openai_options.for_api(request.openai_options, openai_options.CHAT))


def _encode_function(tool: Tool, strict: bool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name, "description": tool.description, "parameters": tool.input_schema}
    if strict and tool.strict is not None:
        function["strict"] = tool.strict
    return function


def takes_verbosity(model: str) -> bool:
    """GPT-5 models take a verbosity; its Codex models do not (nor does any other model)."""
    return model.startswith("gpt-5") and "codex" not in model


def responses_api_only(model: str) -> bool:
    """An OpenAI model only its Responses API serves."""
    return _RESPONSES_ONLY_MODEL.search(model) is not None


def is_reasoning_model(model: str) -> bool:
    """OpenAI's reasoning models, which take a reasoning effort (others refuse it, 400)."""
    return _REASONING_MODEL.match(model) is not None


def _within_output_limit(max_tokens: int, model: str) -> int:
    matches = [(len(prefix), limit) for prefix, limit in OUTPUT_LIMITS.items() if model.startswith(prefix)]
    return min(max_tokens, max(matches)[1]) if matches else max_tokens


def _encode_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if choice.type == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return {"auto": "auto", "none": "none", "any": "required"}[choice.type]


def _encode_message(message: Message, tool_call_signatures: bool = False) -> list[dict[str, Any]]:
    """One canonical message as OpenAI messages: tool results become ``tool`` messages."""
    if message.role == "assistant":
        text = "".join(b.text for b in message.content if isinstance(b, TextBlock))
        out: dict[str, Any] = {"role": "assistant", "content": text or None}
        calls = [
            _wire_call(b, (b.signature or (None if i else SIGNATURE_BYPASS)) if tool_call_signatures else None)
            for i, b in enumerate(message.tool_uses())
        ]
        if calls:
            out["tool_calls"] = calls
        elif out["content"] is None:
            out["content"] = ""
        return [out]
    encoded: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):
            text = block.text()
            encoded.append({"role": "tool", "tool_call_id": block.tool_use_id, "content": f"Error: {text}" if block.is_error else text})
            # Tool messages carry text only; images and documents in a result follow in the next user message.
            parts += [_image_part(b) if isinstance(b, ImageBlock) else _file_part(b) for b in block.content if not isinstance(b, TextBlock)]
        elif isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
        elif isinstance(block, HostedToolBlock) and block.is_document():
            parts.append(_file_part(block))
    if parts:
        # One text part goes as the plain string every server takes; several stay parts, so the
        # bounds between a client's text blocks survive (joined, "a" and "b" would read "ab").
        content: Any = parts[0]["text"] if len(parts) == 1 and parts[0]["type"] == "text" else parts
        encoded.append({"role": "user", "content": content})
    return encoded


def _image_part(block: ImageBlock) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": block.data_url()}}


def _file_part(block: HostedToolBlock) -> dict[str, Any]:
    """A document as a ``file`` part with its bytes inline; one OpenAI cannot be sent (a URL) as its stand-in's text."""
    file = inline_file(block)
    if isinstance(file, str):
        return {"type": "text", "text": file}
    return {"type": "file", "file": {"filename": file[0], "file_data": file[1]}}


# ---------------------------------------------------------------- response


def decode_response(body: dict[str, Any]) -> Response:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise WireError("OpenAI response has no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise WireError("OpenAI response choice has no message")
    blocks: list[Block] = []
    reasoning = message.get("reasoning_content")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(ThinkingBlock(reasoning))
    content = message.get("content")
    if isinstance(content, str) and content:
        blocks.append(TextBlock(content))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        blocks.append(TextBlock(refusal))
    for call in message.get("tool_calls") or []:
        blocks.append(_decode_response_call(call))
    reported = "refusal" if refusal else _STOP_FROM_WIRE.get(str(choices[0].get("finish_reason")), "end_turn")
    return Response(
        id=str(body.get("id") or "chatcmpl-" + secrets.token_hex(12)),
        model=str(body.get("model") or ""),
        content=blocks,
        stop_reason=derive_stop_reason(blocks, reported),
        usage=decode_usage(body.get("usage")),
        logprobs=token_logprobs.entries(choices[0].get("logprobs")),
    )


def _decode_response_call(call: Any) -> ToolUseBlock:
    try:
        function = call["function"]
        arguments = function.get("arguments") or ""
        if isinstance(arguments, dict):
            parsed = arguments
        else:
            parsed = json_text.loads(arguments) if arguments.strip() else {}
        if not isinstance(parsed, dict):
            raise ValueError("arguments are not a JSON object")
        return ToolUseBlock(str(call.get("id") or _new_call_id()), str(function["name"]), parsed, signature=_thought_signature(call))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise WireError(f"OpenAI tool call is malformed ({exc}): {str(call)[:120]}") from None


def decode_usage(usage: Any, inputs: str = "prompt", outputs: str = "completion") -> Usage:
    """OpenAI's usage (Chat Completions names its counts ``prompt``/``completion``, the Responses
    API ``input``/``output``): the input count includes the cached tokens, which Trooper counts apart."""
    if not isinstance(usage, dict):
        return Usage()
    cached = _detail(usage, f"{inputs}_tokens_details", "cached_tokens")
    return Usage(
        max(0, int(usage.get(f"{inputs}_tokens") or 0) - cached),
        int(usage.get(f"{outputs}_tokens") or 0),
        cache_read_input_tokens=cached,
        reasoning_tokens=_detail(usage, f"{outputs}_tokens_details", "reasoning_tokens"),
    )


def _detail(usage: dict[str, Any], details: str, name: str) -> int:
    """A count inside one of the usage's ``*_details`` objects; 0 when absent or null."""
    inner = usage.get(details)
    return int(inner.get(name) or 0) if isinstance(inner, dict) else 0


def encode_response(response: Response) -> dict[str, Any]:
    text = "".join(b.text for b in response.content if isinstance(b, TextBlock))
    calls = [_wire_call(b, b.signature) for b in response.content if isinstance(b, ToolUseBlock)]
    message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else ""), "refusal": None}
    if calls:
        message["tool_calls"] = calls
    stop_reason = derive_stop_reason(response.content, response.stop_reason)
    return {
        "id": response.id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model,
        "choices": [{"index": 0, "message": message, "finish_reason": _STOP_TO_WIRE[stop_reason], "logprobs": _logprobs(response.logprobs)}],
        "usage": _encode_usage(response.usage),
    }


def _logprobs(entries: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """A choice's ``logprobs``: its tokens' entries, or null when none were given."""
    return {"content": entries, "refusal": None} if entries is not None else None


def _encode_usage(usage: Usage) -> dict[str, Any]:
    """Usage in OpenAI's shape: every prompt token in ``prompt_tokens``, the cached ones (read
    from the provider's cache) in ``prompt_tokens_details.cached_tokens``."""
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.prompt_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


# ---------------------------------------------------------------- errors


def encode_error(status: int, error_type: str, message: str) -> dict[str, Any]:
    wire_type, code = _ERRORS_TO_WIRE.get(error_type or error_type_for_status(status), ("invalid_request_error" if status < 500 else "server_error", None))
    return {"error": {"message": message, "type": wire_type, "param": None, "code": code}}


def decode_error(status: int, body: bytes) -> tuple[str, str]:
    """(canonical error type, message) from an OpenAI-style error body, JSON or not."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed: Any = json_text.loads(text)
    except ValueError:
        return error_type_for_status(status), text[:500] or f"HTTP {status} with an empty body"
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]  # Gemini wraps its error object in an array
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, str):
        return error_type_for_status(status), error
    if not isinstance(error, dict):
        return error_type_for_status(status), text[:500]
    return _canonical_error_type(status, error), str(error.get("message") or text[:500])


def _canonical_error_type(status: int, error: dict[str, Any]) -> str:
    if status >= 400:
        return error_type_for_status(status)
    for key in (error.get("code"), error.get("type")):
        if isinstance(key, str) and key in _ERRORS_FROM_WIRE:
            return _ERRORS_FROM_WIRE[key]
    return "api_error"


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """OpenAI ``chat.completion.chunk`` SSE bytes to canonical events.

    Text, reasoning and each tool call become blocks with contiguous indexes (see
    ``BlockSequencer``). A tool-call fragment belongs to the call with its ``id``; without an
    ``id``, to the call with its ``index``; without either, to the open call. The first tool call
    streams as it arrives; later ones are gathered and emitted whole, in order, when the choice
    finishes, since several OpenAI-compatible servers interleave parallel calls' fragments
    (index 0, 1, 0, 1…) and a block, once closed, cannot take more. The terminal
    ``MessageDelta``/``MessageStop`` are emitted at ``[DONE]`` so a usage-only chunk before it is
    counted. ``{"error": ...}`` raises ``UpstreamStreamError``.
    """

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._blocks = BlockSequencer()
        self._started = False
        self._done = False
        self._finish_reason: str | None = None
        self._usage = Usage()
        self._by_id: dict[str, Hashable] = {}
        self._by_index: dict[int, Hashable] = {}
        self._last_tool: Hashable | None = None
        #: Tool calls after the first, gathered until the choice finishes: key → [id, name,
        #: signature, argument fragments].
        self._gathered: dict[Hashable, list[Any]] = {}
        self._calls = 0

    def feed(self, data: bytes) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for frame in self._sse.feed(data):
            events += self._frame(frame.data)
        return events

    def finish(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for frame in self._sse.flush():
            events += self._frame(frame.data)
        if not self._done:
            raise UnterminatedStream("OpenAI stream ended without data: [DONE]")
        return events

    def _frame(self, data: str) -> list[StreamEvent]:
        if self._done or not data.strip():
            return []
        if data.strip() == "[DONE]":
            return self._end()
        try:
            chunk = json_text.loads(data)
        except ValueError:
            raise WireError(f"OpenAI stream frame is not JSON: {data[:120]!r}") from None
        if isinstance(chunk, dict) and chunk.get("error"):
            error_type, message = decode_error(0, data.encode("utf-8"))
            raise UpstreamStreamError(error_type, message)
        if not isinstance(chunk, dict):
            raise WireError(f"OpenAI stream frame is not an object: {data[:120]!r}")
        try:
            return self._chunk(chunk)
        except WireError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WireError(f"OpenAI chunk is malformed ({exc!r}): {data[:120]!r}") from None

    def _chunk(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            events.append(MessageStart(str(chunk.get("id") or "chatcmpl-" + secrets.token_hex(12)), str(chunk.get("model") or "")))
        if chunk.get("usage"):
            self._usage = decode_usage(chunk["usage"])
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            events += self._blocks.thinking(delta.get("reasoning_content") or "")
            events += self._blocks.text(delta.get("content") or "", token_logprobs.entries(choice.get("logprobs")))
            if delta.get("refusal"):
                self._finish_reason = "content_filter"
                events += self._blocks.text(delta["refusal"])
            for fragment in delta.get("tool_calls") or []:
                events += self._tool_fragment(fragment)
            if choice.get("finish_reason"):
                self._finish_reason = self._finish_reason or choice["finish_reason"]
                events += self._release_gathered() + self._blocks.close()
        return events

    def _release_gathered(self) -> list[StreamEvent]:
        """The gathered tool calls, each a whole block, in the order they began."""
        events: list[StreamEvent] = []
        for key, (tool_id, name, signature, fragments) in self._gathered.items():
            events += self._blocks.start_tool(key, tool_id, name, signature)
            events += self._blocks.tool_arguments(key, "".join(fragments))
        self._gathered.clear()
        return events

    def _tool_fragment(self, fragment: dict[str, Any]) -> list[StreamEvent]:
        tool_id, index = fragment.get("id") or None, fragment.get("index")
        function = fragment.get("function") or {}
        if tool_id in self._by_id:
            key = self._by_id[tool_id]
        elif tool_id is None and index is not None and index in self._by_index:
            key = self._by_index[index]
        elif tool_id is None and index is None and self._last_tool is not None and self._blocks.is_open_tool(self._last_tool):
            key = self._last_tool
        else:
            key = None
        events: list[StreamEvent] = []
        if key is None:
            if not function.get("name"):
                raise WireError(f"tool call fragment starts a new call but has no function name: {fragment!r:.120}")
            key = ("call", self._calls)
            self._calls += 1
            tool_id = tool_id or _new_call_id()
            self._by_id[tool_id] = key
            if index is not None:
                self._by_index[index] = key
            if self._calls == 1:
                events += self._blocks.start_tool(key, tool_id, str(function["name"]), _thought_signature(fragment))
            else:
                self._gathered[key] = [tool_id, str(function["name"]), _thought_signature(fragment), []]
            self._last_tool = key
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            arguments = json.dumps(arguments)
        if key in self._gathered:
            self._gathered[key][3].append(arguments or "")
            return events
        return events + self._blocks.tool_arguments(key, arguments or "")

    def _end(self) -> list[StreamEvent]:
        self._done = True
        events: list[StreamEvent] = [] if self._started else [MessageStart("chatcmpl-" + secrets.token_hex(12), "")]
        events += self._release_gathered() + self._blocks.close()
        reported = _STOP_FROM_WIRE.get(self._finish_reason or "stop", "end_turn")
        stop_reason = "tool_use" if self._blocks.tool_calls else derive_stop_reason([], reported)
        return events + [MessageDelta(stop_reason, self._usage), MessageStop()]


class StreamEncoder:
    """Canonical events to ``chat.completion.chunk`` SSE frames.

    The first chunk carries the role; a tool call's first delta carries its ``index``, ``id``,
    ``type`` and name, later ones only argument fragments. ``finish_reason`` is derived from what
    was emitted (``tool_calls`` whenever a tool call was sent). With ``include_usage`` a usage
    chunk with empty ``choices`` precedes ``[DONE]``. A ``StreamError`` becomes a
    ``data: {"error": ...}`` frame and nothing follows it. Thinking has no place in this protocol
    and is not sent.
    """

    def __init__(self, model: str = "", *, include_usage: bool = False) -> None:
        self._model = model
        self._include_usage = include_usage
        self._id = "chatcmpl-" + secrets.token_hex(12)
        self._created = int(time.time())
        self._started = False
        #: Canonical block index to OpenAI tool-call index, for open and closed tool blocks.
        self._tool_index: dict[int, int] = {}
        self._text_blocks: set[int] = set()
        self._finish_sent = False
        self._usage = Usage()
        self._finished = False

    def encode(self, event: StreamEvent) -> bytes:
        if self._finished:
            return b""
        if isinstance(event, StreamError):
            self._finished = True
            wire_type, code = _ERRORS_TO_WIRE.get(event.error_type, ("server_error", None))
            return _data({"error": {"message": event.message, "type": wire_type, "param": None, "code": code}})
        if isinstance(event, MessageStart):
            self._model = event.model or self._model
            self._id = event.id or self._id
            return self._role_chunk()
        out = self._role_chunk()
        if isinstance(event, BlockStart):
            out += self._block_start(event)
        elif isinstance(event, TextDelta) and event.index in self._text_blocks and event.text:
            out += self._chunk({"content": event.text}, logprobs=event.logprobs)
        elif isinstance(event, ToolInputDelta) and event.index in self._tool_index and event.partial_json:
            out += self._chunk({"tool_calls": [{"index": self._tool_index[event.index], "function": {"arguments": event.partial_json}}]})
        elif isinstance(event, MessageDelta):
            out += self._finish(event)
        elif isinstance(event, MessageStop):
            out += self._finish(MessageDelta("end_turn")) + self._usage_chunk() + b"data: [DONE]\n\n"
            self._finished = True
        return out

    def _role_chunk(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._chunk({"role": "assistant", "content": ""})

    def _block_start(self, event: BlockStart) -> bytes:
        block = event.block
        if isinstance(block, TextBlock):
            self._text_blocks.add(event.index)
            return self._chunk({"content": block.text}) if block.text else b""
        if isinstance(block, ToolUseBlock):
            index = self._tool_index[event.index] = len(self._tool_index)
            call = {"index": index, "id": block.id, "type": "function", "function": {"name": block.name, "arguments": ""}}
            return self._chunk({"tool_calls": [_with_signature(call, block.signature)]})
        return b""

    def _finish(self, event: MessageDelta) -> bytes:
        if self._finish_sent:
            return b""
        self._finish_sent = True
        self._usage = event.usage
        # A rescued stream's last chunks name the model that finished the answer.
        self._model = event.answered_by or self._model
        stop_reason = "tool_use" if self._tool_index else derive_stop_reason([], event.stop_reason)
        return self._chunk({}, finish_reason=_STOP_TO_WIRE[stop_reason])

    def _usage_chunk(self) -> bytes:
        if not self._include_usage:
            return b""
        return _data({**self._envelope(), "choices": [], "usage": _encode_usage(self._usage)})

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None, logprobs: list[dict[str, Any]] | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": _logprobs(logprobs), "finish_reason": finish_reason}
        return _data({**self._envelope(), "choices": [choice]})

    def _envelope(self) -> dict[str, Any]:
        return {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model}


def _data(payload: dict[str, Any]) -> bytes:
    return format_sse(compact_json.encode(payload))
