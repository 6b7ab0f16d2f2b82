"""Ollama's native chat API (``POST /api/chat``) to and from the canonical model.

Ollama differs from the cloud protocols in ways this codec absorbs: tool calls have no ids (ids
are generated, and a ``tool`` message is matched to the call it answers by ``tool_name`` or
order), tool-call arguments are JSON objects rather than strings, images are bare base64 strings
(the media type is sniffed), streams are NDJSON whose tool calls arrive whole, and ``done_reason``
says ``stop`` after a tool call (the stop reason is derived from the content instead). The
client's ``num_ctx`` is not kept: Trooper sets ``num_ctx`` itself when it sends to Ollama.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from trooper import json_text
from trooper.conversation import (
    Block,
    BlockStart,
    BlockStop,
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
    ThinkingDelta,
    Tool,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    derive_stop_reason,
    new_message_id,
    new_tool_use_id,
)
from trooper.errors import InvalidRequest, error_type_for_status
from trooper.wire import fields as f
from trooper.wire import logprobs as token_logprobs
from trooper.wire import openai_options, output_format
from trooper.wire.errors import UnterminatedStream, UpstreamStreamError, WireError
from trooper.wire.sequencer import BlockSequencer

_STOP_FROM_WIRE: dict[str, StopReason] = {"stop": "end_turn", "length": "max_tokens"}

_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def sniff_media_type(data: str) -> str:
    """The image type of base64 ``data`` from its first bytes; PNG when unknown."""
    try:
        head = base64.b64decode(data[:16] + "=" * (-len(data[:16]) % 4))
    except (binascii.Error, ValueError):
        return "image/png"
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


# ---------------------------------------------------------------- request


def decode_request(body: dict[str, Any]) -> Request:
    model = f.field(body, "model", str, required=True)
    system: list[str] = []
    messages: list[Message] = []
    #: Tool calls of the last assistant message not yet answered, as (id, name).
    pending: list[tuple[str, str]] = []
    for path, message in f.items(body, "messages", required=True):
        role = f.choice(message, "role", ("system", "user", "assistant", "tool"), path, required=True)
        content = f.field(message, "content", str, path) or ""
        if role == "system":
            system.append(content)
        elif role == "assistant":
            blocks = _assistant_blocks(path, message, content)
            pending = [(b.id, b.name) for b in blocks if isinstance(b, ToolUseBlock)]
            messages.append(Message("assistant", blocks))
        elif role == "tool":
            result = ToolResultBlock(_answered_call(path, message, pending), [TextBlock(content)])
            if messages and messages[-1].role == "user" and all(isinstance(b, ToolResultBlock) for b in messages[-1].content):
                messages[-1].content.append(result)
            else:
                messages.append(Message("user", [result]))
        else:
            images: list[Block] = [ImageBlock(media_type=sniff_media_type(i), data=i) for i in _images(path, message)]
            messages.append(Message("user", [*images, TextBlock(content)] if content or not images else images))
    if not messages:
        raise InvalidRequest("messages: at least one user or assistant message is required")
    options = f.field(body, "options", dict) or {}
    num_predict = f.field(options, "num_predict", int, "options")
    stream = f.field(body, "stream", bool)
    return Request(
        model=model,
        messages=messages,
        system="\n\n".join(system) if system else None,
        max_tokens=num_predict if num_predict is not None and num_predict > 0 else None,
        temperature=f.field(options, "temperature", float, "options"),
        top_p=f.field(options, "top_p", float, "options"),
        top_k=f.field(options, "top_k", int, "options"),
        stop=f.string_list(options, "stop", "options"),
        tools=[_decode_tool(path, t) for path, t in f.items(body, "tools")],
        stream=True if stream is None else stream,  # Ollama streams unless told not to
        output_format=output_format.from_ollama(body),
    )


def _images(path: str, message: dict[str, Any]) -> list[str]:
    images = f.field(message, "images", list, path) or []
    for i, image in enumerate(images):
        if not isinstance(image, str):
            raise InvalidRequest(f"{path}.images[{i}]: must be a base64 string, got {f.json_type(image)}")
    return images


def _assistant_blocks(path: str, message: dict[str, Any], content: str) -> list[Block]:
    blocks: list[Block] = []
    thinking = f.field(message, "thinking", str, path)
    if thinking:
        blocks.append(ThinkingBlock(thinking))
    if content:
        blocks.append(TextBlock(content))
    for call_path, call in f.items(message, "tool_calls", path):
        function = f.field(call, "function", dict, call_path, required=True)
        fn_path = f"{call_path}.function"
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            try:
                arguments = json_text.loads(arguments) if arguments.strip() else {}
            except ValueError:
                raise InvalidRequest(f"{fn_path}.arguments: must be a JSON object, got {arguments[:80]!r}") from None
        if arguments is not None and not isinstance(arguments, dict):
            raise InvalidRequest(f"{fn_path}.arguments: must be an object, got {f.json_type(arguments)}")
        tool_id = f.field(call, "id", str, call_path) or new_tool_use_id()
        blocks.append(ToolUseBlock(tool_id, f.field(function, "name", str, fn_path, required=True), arguments or {}))
    return blocks


def _answered_call(path: str, message: dict[str, Any], pending: list[tuple[str, str]]) -> str:
    """The id of the call a ``tool`` message answers: by id, by ``tool_name``, else the next one."""
    if not pending:
        raise InvalidRequest(f"{path}: a tool message must follow an assistant message with tool_calls")
    tool_id = f.field(message, "tool_call_id", str, path)
    name = f.field(message, "tool_name", str, path)
    for i, (pending_id, pending_name) in enumerate(pending):
        if tool_id == pending_id or (tool_id is None and (name is None or name == pending_name)):
            return pending.pop(i)[0]
    raise InvalidRequest(f"{path}: no earlier tool call matches tool_name {name!r} / tool_call_id {tool_id!r}")


def _decode_tool(path: str, tool: dict[str, Any]) -> Tool:
    f.choice(tool, "type", ("function",), path, required=True)
    function = f.field(tool, "function", dict, path, required=True)
    fn_path = f"{path}.function"
    parameters = f.field(function, "parameters", dict, fn_path)
    return Tool(
        name=f.field(function, "name", str, fn_path, required=True),
        description=f.field(function, "description", str, fn_path) or "",
        input_schema=parameters if parameters is not None else {"type": "object", "properties": {}},
    )


def encode_request(request: Request, model: str, *, stream: bool, num_ctx: int | None = None) -> dict[str, Any]:
    """The body for ``POST /api/chat``; the provider adds ``keep_alive``."""
    names = {b.id: b.name for m in request.messages for b in m.tool_uses()}
    messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
    for message in request.messages:
        messages += _encode_message(message, names)
    body: dict[str, Any] = {"model": model, "messages": messages, "stream": stream}
    options: dict[str, Any] = {}
    if num_ctx is not None:
        options["num_ctx"] = num_ctx
    for key, value in (("temperature", request.temperature), ("top_p", request.top_p), ("top_k", request.top_k), ("num_predict", request.max_tokens)):
        if value is not None:
            options[key] = value
    options.update(openai_options.for_api(request.openai_options, openai_options.LOCAL_SAMPLING))
    if request.stop:
        options["stop"] = list(request.stop)
    if options:
        body["options"] = options
    if request.needs_tools():
        # Ollama has no tool_choice; "none" is honoured by not offering the tools.
        body["tools"] = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}
            for t in request.tools
        ]
    if request.output_format is not None:
        body["format"] = output_format.to_ollama(request.output_format)
    if request.logprobs is not None:  # Ollama 0.12.11 and later give them
        body.update(token_logprobs.ask(request.logprobs))
    return body


def _encode_message(message: Message, names: dict[str, str]) -> list[dict[str, Any]]:
    if message.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": "".join(b.text for b in message.content if isinstance(b, TextBlock))}
        thinking = "".join(b.thinking for b in message.content if isinstance(b, ThinkingBlock))
        if thinking:
            out["thinking"] = thinking
        calls = [{"function": {"name": b.name, "arguments": b.input}} for b in message.tool_uses()]
        if calls:
            out["tool_calls"] = calls
        return [out]
    encoded: list[dict[str, Any]] = []
    texts: list[str] = []
    images: list[str] = []
    for block in message.content:
        if isinstance(block, ToolResultBlock):
            tool: dict[str, Any] = {"role": "tool", "content": block.text()}
            if block.tool_use_id in names:
                tool["tool_name"] = names[block.tool_use_id]
            encoded.append(tool)
            images += _image_data(block.content, texts)
        elif isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ImageBlock):
            images += _image_data([block], texts)
    if texts or images:
        user: dict[str, Any] = {"role": "user", "content": "\n".join(t for t in texts if t)}
        if images:
            user["images"] = images
        encoded.append(user)
    return encoded


def _image_data(blocks: list[Any], texts: list[str]) -> list[str]:
    """Inline images as Ollama's base64 strings; a remote image becomes a note in ``texts``."""
    data = []
    for block in blocks:
        if isinstance(block, ImageBlock):
            if block.data is not None:
                data.append(block.data)
            else:
                texts.append(f"[image: {block.url}]")
    return data


# ---------------------------------------------------------------- response


def decode_response(body: dict[str, Any]) -> Response:
    message = body.get("message")
    if not isinstance(message, dict):
        raise WireError("Ollama response has no message")
    blocks: list[Block] = []
    if message.get("thinking"):
        blocks.append(ThinkingBlock(str(message["thinking"])))
    if message.get("content"):
        blocks.append(TextBlock(str(message["content"])))
    blocks += [_decode_call(call) for call in message.get("tool_calls") or []]
    return Response(
        id=new_message_id(),
        model=str(body.get("model") or ""),
        content=blocks,
        stop_reason=derive_stop_reason(blocks, _STOP_FROM_WIRE.get(str(body.get("done_reason")), "end_turn")),
        usage=_usage(body),
        logprobs=token_logprobs.entries(body.get("logprobs")),
    )


def _decode_call(call: Any) -> ToolUseBlock:
    try:
        function = call["function"]
        arguments = function.get("arguments") or {}
        if isinstance(arguments, str):
            arguments = json_text.loads(arguments) if arguments.strip() else {}
        if not isinstance(arguments, dict):
            raise ValueError("arguments are not an object")
        return ToolUseBlock(str(call.get("id") or new_tool_use_id()), str(function["name"]), arguments)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise WireError(f"Ollama tool call is malformed ({exc}): {str(call)[:120]}") from None


def _usage(body: dict[str, Any]) -> Usage:
    return Usage(int(body.get("prompt_eval_count") or 0), int(body.get("eval_count") or 0))


def encode_response(response: Response) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": response.text()}
    thinking = "".join(b.thinking for b in response.content if isinstance(b, ThinkingBlock))
    if thinking:
        message["thinking"] = thinking
    calls = [{"function": {"name": b.name, "arguments": b.input}} for b in response.content if isinstance(b, ToolUseBlock)]
    if calls:
        message["tool_calls"] = calls
    return _final_line(response.model, message, response.stop_reason, response.usage)


def _final_line(model: str, message: dict[str, Any], stop_reason: str, usage: Usage) -> dict[str, Any]:
    return {
        "model": model,
        "created_at": _now(),
        "message": message,
        "done": True,
        "done_reason": "length" if stop_reason == "max_tokens" else "stop",
        "prompt_eval_count": usage.input_tokens,
        "eval_count": usage.output_tokens,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- errors


def encode_error(status: int, error_type: str, message: str) -> dict[str, Any]:
    return {"error": message}


def decode_error(status: int, body: bytes) -> tuple[str, str]:
    """(canonical error type, message) from Ollama's ``{"error": "..."}``, JSON or not."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        parsed = json_text.loads(text)
    except ValueError:
        parsed = None
    message = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(message, str):
        message = text[:500] or f"HTTP {status} with an empty body"
    return error_type_for_status(status) if status else "api_error", message


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """Ollama NDJSON bytes to canonical events; the ``done: true`` line ends the message."""

    def __init__(self) -> None:
        self._buffer = b""
        self._blocks = BlockSequencer()
        self._started = False
        self._done = False

    def feed(self, data: bytes) -> list[StreamEvent]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        events: list[StreamEvent] = []
        for line in lines:
            events += self._line(line)
        return events

    def finish(self) -> list[StreamEvent]:
        line, self._buffer = self._buffer, b""
        events = self._line(line)
        if not self._done:
            raise UnterminatedStream("Ollama stream ended without a done line")
        return events

    def _line(self, raw: bytes) -> list[StreamEvent]:
        if self._done or not raw.strip():
            return []
        try:
            line = json_text.loads(raw)
        except ValueError:
            raise WireError(f"Ollama stream line is not JSON: {raw[:120]!r}") from None
        if not isinstance(line, dict):
            raise WireError(f"Ollama stream line is not an object: {raw[:120]!r}")
        if line.get("error"):
            raise UpstreamStreamError("api_error", str(line["error"]))
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            events.append(MessageStart(new_message_id(), str(line.get("model") or "")))
        message = line.get("message") or {}
        if not isinstance(message, dict):
            raise WireError(f"Ollama stream line has a malformed message: {raw[:120]!r}")
        events += self._blocks.thinking(str(message.get("thinking") or ""))
        events += self._blocks.text(str(message.get("content") or ""), token_logprobs.entries(line.get("logprobs")))
        for call in message.get("tool_calls") or []:
            tool = _decode_call(call)
            key = ("call", self._blocks.tool_calls)
            events += self._blocks.start_tool(key, tool.id, tool.name)
            events += self._blocks.tool_arguments(key, json.dumps(tool.input, ensure_ascii=False))
            events += self._blocks.close()
        if line.get("done"):
            self._done = True
            events += self._blocks.close()
            reported = _STOP_FROM_WIRE.get(str(line.get("done_reason")), "end_turn")
            stop_reason = "tool_use" if self._blocks.tool_calls else reported
            events += [MessageDelta(stop_reason, _usage(line)), MessageStop()]
        return events


class StreamEncoder:
    """Canonical events to Ollama NDJSON (what Ollama itself streams; used by fakes and tests).

    Tool calls are buffered until their block stops, since Ollama sends each call whole.
    ``include_usage`` is accepted for a uniform constructor; the done line always has counts.
    """

    def __init__(self, model: str = "", *, include_usage: bool = False) -> None:
        self._model = model
        self._tools: dict[int, tuple[ToolUseBlock, list[str]]] = {}
        self._stop_reason = "end_turn"
        self._usage = Usage()
        self._finished = False

    def encode(self, event: StreamEvent) -> bytes:
        if self._finished:
            return b""
        if isinstance(event, StreamError):
            self._finished = True
            return _line({"error": event.message})
        if isinstance(event, MessageStart):
            self._model = event.model or self._model
        elif isinstance(event, BlockStart) and isinstance(event.block, ToolUseBlock):
            self._tools[event.index] = (event.block, [])
        elif isinstance(event, TextDelta) and event.text:
            return self._delta({"role": "assistant", "content": event.text})
        elif isinstance(event, ThinkingDelta) and event.thinking:
            return self._delta({"role": "assistant", "content": "", "thinking": event.thinking})
        elif isinstance(event, ToolInputDelta) and event.index in self._tools:
            self._tools[event.index][1].append(event.partial_json)
        elif isinstance(event, BlockStop) and event.index in self._tools:
            block, parts = self._tools[event.index]
            arguments = json_text.loads("".join(parts) or "{}")
            return self._delta({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": block.name, "arguments": arguments}}]})
        elif isinstance(event, MessageDelta):
            self._stop_reason, self._usage = event.stop_reason, event.usage
        elif isinstance(event, MessageStop):
            self._finished = True
            return _line(_final_line(self._model, {"role": "assistant", "content": ""}, self._stop_reason, self._usage))
        return b""

    def _delta(self, message: dict[str, Any]) -> bytes:
        return _line({"model": self._model, "created_at": _now(), "message": message, "done": False})


def _line(payload: dict[str, Any]) -> bytes:
    return (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8")
