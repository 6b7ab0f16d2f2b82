"""OpenAI's Responses API as an upstream (``POST {base}/v1/responses``): the codec of the turns
only OpenAI can answer, those offering its built-in tools (web search, file search, code
interpreter…; see ``routing/builtin_tools.py``), and of the turns keeping OpenAI's reasoning
(``Request.keeps_openai_reasoning``) when OpenAI answers them with a reasoning model, since only
this API reads its reasoning items back. Every other OpenAI turn goes by Chat Completions.

The request: the system prompt is ``instructions``; each message becomes input items (user text
and images as a user message, an assistant's text as an assistant message, tool calls as
``function_call`` items, tool results as ``function_call_output`` items, built-in tool items
verbatim). OpenAI's own reasoning items go back verbatim and in place, to a reasoning model, when
they hold their ``encrypted_content``: with ``store`` false OpenAI keeps nothing, so an item
without it names nothing OpenAI can find (it would refuse the turn). Any other thinking is left
out: another model's means nothing to OpenAI. Function tools go with the ``strict`` their client
said, else ``strict: false`` (the Responses API's default is strict, which a tool from another API
never asked for); custom tools as their client sent them, their calls and outputs as
``custom_tool_call`` / ``custom_tool_call_output`` items; the built-in tools verbatim. ``store`` is false: Trooper keeps the conversation and sends it whole. The
client's ``reasoning`` (effort and ``summary``) goes to a reasoning model, and its ``include`` as
it came (its ``reasoning.*`` values to a reasoning model only).

The answer: a ``message`` item's ``output_text`` parts are text blocks with their annotations
(``url_citation``…), a ``refusal`` part a text block (stop reason ``refusal``), ``function_call``
a tool call, ``custom_tool_call`` a call of the function standing for its tool (its input the
``input`` argument; streamed, as pieces of that argument's JSON), ``reasoning`` a thinking block holding its summary, marked as one, and the item
itself (``openai_item``, its ``encrypted_content`` with it when asked for; no block when it has
neither: OpenAI summarises only when asked), and every other item a ``HostedToolBlock``,
verbatim. In a stream, the events of those items pass through as
``HostedToolProgress`` (their type and fields), and their ``output_item.done`` gives the item's
final state (``HostedToolUpdate``), a reasoning item's too: its ``encrypted_content`` is whole
only there.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from trooper import json_text
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
    StopReason,
    StreamEvent,
    TextAnnotation,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolInputDelta,
    ToolResultBlock,
    ToolUseBlock,
    derive_stop_reason,
)
from trooper.wire import custom_tools, extra_fields, openai, openai_options, output_format
from trooper.wire import logprobs as token_logprobs
from trooper.wire.documents import inline_file
from trooper.wire.errors import UnterminatedStream, UpstreamStreamError, WireError
from trooper.wire.sse import SSEParser

#: Output items the canonical model has blocks of; every other item is a built-in tool's.
_OWN_ITEMS = ("message", "function_call", "reasoning")
#: Fields of a stream event that say where it belongs, renumbered by whoever passes it on.
_PLACE_FIELDS = ("type", "sequence_number", "output_index", "item_id")

decode_error = openai.decode_error


# ---------------------------------------------------------------- request


def encode_request(request: Request, model: str, *, stream: bool) -> dict[str, Any]:
    """The body for ``POST .../v1/responses``."""
    # Only OpenAI's reasoning models take ``reasoning``, what it includes and reasoning items (others refuse them, 400).
    reasons = openai.is_reasoning_model(model)
    custom = frozenset(t.name for t in request.tools if t.custom is not None)
    # The calls of custom tools, and their outputs, go as custom items.
    custom_calls = frozenset(b.id for m in request.messages for b in m.tool_uses() if b.name in custom)
    body: dict[str, Any] = {"model": model, "input": [item for m in request.messages for item in _input_items(m, reasons, custom_calls)]}
    if request.system:
        body["instructions"] = request.system
    tools = [
        t.custom if t.custom is not None
        else {"type": "function", "name": t.name, "description": t.description, "parameters": t.input_schema, "strict": bool(t.strict)}
        for t in request.tools
    ]  # fmt: skip
    body["tools"] = [*tools, *request.hosted_tools]
    choice = request.hosted_tool_choice or (_tool_choice(request, custom) if request.tool_choice else None)
    if choice is not None:
        body["tool_choice"] = choice
    if request.tool_choice is not None and request.tool_choice.disable_parallel:
        body["parallel_tool_calls"] = False
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    reasoning = {"effort": request.reasoning_effort, "summary": request.reasoning_summary}
    if reasons and any(reasoning.values()):
        body["reasoning"] = {key: value for key, value in reasoning.items() if value is not None}
    include = [value for value in request.include if reasons or not value.startswith("reasoning.")]
    if request.logprobs is not None:  # asked at the Chat Completions door as well
        include += [] if token_logprobs.RESPONSES_INCLUDE in include else [token_logprobs.RESPONSES_INCLUDE]
        if request.logprobs:
            body["top_logprobs"] = request.logprobs
    if include:
        body["include"] = include
    if request.prompt_cache_key:
        body["prompt_cache_key"] = request.prompt_cache_key
    text = _text(request, model)
    if text:
        body["text"] = text
    body.update(openai_options.for_api(request.openai_options, openai_options.RESPONSES))
    body["store"] = False
    body["stream"] = stream
    if extra_fields.meant_for(request, model):
        extra_fields.add(body, request, "responses")
    return body


def _text(request: Request, model: str) -> dict[str, Any]:
    """``text``: the answer's format (structured output), and its verbosity for a GPT-5 model."""
    text: dict[str, Any] = {}
    if request.output_format is not None:
        text["format"] = output_format.to_responses(request.output_format)
    if request.verbosity is not None and openai.takes_verbosity(model):
        text["verbosity"] = request.verbosity
    return text


def _tool_choice(request: Request, custom: frozenset[str]) -> str | dict[str, Any]:
    choice = request.tool_choice
    assert choice is not None
    if choice.type == "tool":
        return {"type": "custom" if choice.name in custom else "function", "name": choice.name}
    return {"auto": "auto", "none": "none", "any": "required"}[choice.type]


def _input_items(message: Message, reasons: bool, custom_calls: frozenset[str]) -> list[dict[str, Any]]:
    """One canonical message as input items, in its blocks' order."""
    items: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []

    def flush() -> None:
        if parts:
            items.append({"type": "message", "role": message.role, "content": list(parts)})
            parts.clear()

    for block in message.content:
        part = _content_part(block, message.role)
        if part is not None:
            parts.append(part)
            continue
        item = _item(block, reasons, custom_calls)
        if item is not None:
            flush()
            items.append(item)
    flush()
    return items


def _content_part(block: Block, role: str) -> dict[str, Any] | None:
    if isinstance(block, TextBlock):
        if role == "assistant":
            return {"type": "output_text", "text": block.text, "annotations": block.annotations or []}
        return {"type": "input_text", "text": block.text}
    if isinstance(block, ImageBlock) and role == "user":
        return _image_part(block)
    if isinstance(block, HostedToolBlock) and block.is_document():
        return _file_part(block)
    return None


def _image_part(block: ImageBlock) -> dict[str, Any]:
    return {"type": "input_image", "image_url": block.data_url(), "detail": "auto"}


def _file_part(block: HostedToolBlock) -> dict[str, Any]:
    """A document as an ``input_file`` with its bytes inline; one OpenAI cannot be sent (a URL) as its stand-in's text."""
    file = inline_file(block)
    if isinstance(file, str):
        return {"type": "input_text", "text": file}
    return {"type": "input_file", "filename": file[0], "file_data": file[1]}


def _item(block: Block, reasons: bool, custom_calls: frozenset[str]) -> dict[str, Any] | None:
    if isinstance(block, ToolUseBlock) and block.id in custom_calls:
        return {"type": "custom_tool_call", "call_id": block.id, "name": block.name, "input": custom_tools.call_input(block)}
    if isinstance(block, ToolUseBlock):
        arguments = json.dumps(block.input, ensure_ascii=False)
        return {"type": "function_call", "call_id": block.id, "name": block.name, "arguments": arguments}
    if isinstance(block, ToolResultBlock):
        text = block.text()
        images = [_image_part(b) if isinstance(b, ImageBlock) else _file_part(b) for b in block.content if not isinstance(b, TextBlock)]
        output: str | list[dict[str, Any]] = f"Error: {text}" if block.is_error else text
        if images:
            output = [{"type": "input_text", "text": output}, *images] if output else images
        kind = "custom_tool_call_output" if block.tool_use_id in custom_calls else "function_call_output"
        return {"type": kind, "call_id": block.tool_use_id, "output": output}
    if isinstance(block, HostedToolBlock):
        return block.item
    if isinstance(block, ThinkingBlock) and reasons and block.resends_openai_reasoning():
        return block.openai_item
    return None  # any other thinking: see the module's docstring


# ---------------------------------------------------------------- response


def decode_response(body: dict[str, Any]) -> Response:
    _raise_failure(body)
    content: list[Block] = []
    logprobs: list[dict[str, Any]] = []
    refused = False
    for item in _list(body.get("output")):
        kind = item.get("type")
        if kind == "message":
            for part in _list(item.get("content")):
                if part.get("type") == "refusal":
                    refused = True
                    content.append(TextBlock(str(part.get("refusal") or "")))
                elif part.get("type") == "output_text":
                    content.append(TextBlock(str(part.get("text") or ""), annotations=_list(part.get("annotations")) or None))
                    logprobs += token_logprobs.entries(part.get("logprobs")) or []
        elif kind == "function_call":
            content.append(_function_call(item, str(item.get("arguments") or "")))
        elif kind == "custom_tool_call":
            content.append(_custom_call(item))
        elif kind == "reasoning":
            summary = "\n\n".join(str(p.get("text") or "") for p in _list(item.get("summary")))
            if summary or item.get("encrypted_content"):  # else nothing to show, nor to send back
                content.append(ThinkingBlock(summary, summary=True, openai_item=item))
        elif isinstance(kind, str):
            content.append(HostedToolBlock(item))
    stop_reason = _stop_reason(body, refused)
    return Response(
        id=str(body.get("id") or "resp_" + secrets.token_hex(12)),
        model=str(body.get("model") or ""),
        content=content,
        stop_reason=derive_stop_reason(content, stop_reason),
        usage=openai.decode_usage(body.get("usage"), "input", "output"),
        logprobs=logprobs or None,
    )


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _function_call(item: dict[str, Any], arguments: str) -> ToolUseBlock:
    call_id, name = item.get("call_id"), item.get("name")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise WireError(f"OpenAI function_call item without call_id or name: {json.dumps(item)[:120]}")
    try:
        parsed = json_text.loads(arguments) if arguments.strip() else {}
    except ValueError:
        raise WireError(f"OpenAI function_call arguments are not JSON: {arguments[:120]!r}") from None
    return ToolUseBlock(call_id, name, parsed if isinstance(parsed, dict) else {})


def _custom_call(item: dict[str, Any]) -> ToolUseBlock:
    call_id, name, text = item.get("call_id"), item.get("name"), item.get("input")
    if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(text, str):
        raise WireError(f"OpenAI custom_tool_call item without call_id, name or input: {json.dumps(item)[:120]}")
    return custom_tools.call_block(call_id, name, text)


def _stop_reason(body: dict[str, Any], refused: bool) -> StopReason:
    details = body.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    if body.get("status") == "incomplete" and reason == "max_output_tokens":
        return "max_tokens"
    if refused or reason == "content_filter":
        return "refusal"
    return "end_turn"


def _raise_failure(response: dict[str, Any]) -> None:
    """A failed response's error as the upstream's own (the router classifies it like an HTTP one)."""
    error = response.get("error")
    if isinstance(error, dict) or response.get("status") == "failed":
        error = error if isinstance(error, dict) else {"message": "the response failed"}
        _raise_error(error)


def _raise_error(error: dict[str, Any]) -> None:
    wire = {"error": {"message": error.get("message") or "the response failed", "type": error.get("type"), "code": error.get("code")}}
    error_type, message = decode_error(0, json.dumps(wire).encode())
    raise UpstreamStreamError(error_type, message)


# ---------------------------------------------------------------- streaming


class StreamDecoder:
    """The Responses API's SSE events to canonical events (see the module's docstring). Blocks get
    contiguous indexes in the order their items and content parts open; ``response.completed``
    (or ``.incomplete``) ends the message, ``response.failed`` and ``error`` events raise
    ``UpstreamStreamError``, and a stream that ends before either is unterminated."""

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._started = False
        self._done = False
        self._refused = False
        self._next = 0
        #: Canonical index of each open item (by output index) and text part (by output and content index).
        self._items: dict[int, int] = {}
        self._parts: dict[tuple[int, int], int] = {}
        self._hosted: set[int] = set()
        #: Reasoning items (by output index, as added) whose summary has not begun.
        self._reasoning: dict[int, dict[str, Any]] = {}
        self._arguments_seen: set[int] = set()
        #: Custom calls' blocks (by index), and those whose input has begun.
        self._custom: set[int] = set()

    def feed(self, data: bytes) -> list[StreamEvent]:
        return [event for frame in self._sse.feed(data) for event in self._frame(frame.data)]

    def finish(self) -> list[StreamEvent]:
        events = [event for frame in self._sse.flush() for event in self._frame(frame.data)]
        if not self._done:
            raise UnterminatedStream("OpenAI Responses stream ended without response.completed")
        return events

    def _frame(self, data: str) -> list[StreamEvent]:
        if self._done or not data.strip() or data.strip() == "[DONE]":
            return []
        try:
            event = json_text.loads(data)
        except ValueError:
            raise WireError(f"OpenAI Responses event is not JSON: {data[:120]!r}") from None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise WireError(f"OpenAI Responses event has no type: {data[:120]!r}")
        try:
            return self._event(event["type"], event)
        except WireError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WireError(f"OpenAI Responses event is malformed ({exc!r}): {data[:120]!r}") from None

    def _open(self, block: TextBlock | ToolUseBlock | ThinkingBlock | HostedToolBlock) -> tuple[int, list[StreamEvent]]:
        index, self._next = self._next, self._next + 1
        return index, [BlockStart(index, block)]

    def _event(self, kind: str, event: dict[str, Any]) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if not self._started and kind != "error":
            self._started = True
            response = event.get("response")
            response = response if isinstance(response, dict) else {}
            out.append(MessageStart(str(response.get("id") or "resp_" + secrets.token_hex(12)), str(response.get("model") or "")))
        if kind == "error":
            _raise_error(event)
        if kind == "response.failed":
            _raise_failure(event["response"])
        if kind in ("response.completed", "response.incomplete"):
            return out + self._end(event["response"])
        if kind == "response.output_item.added":
            return out + self._item_added(event["output_index"], event["item"])
        if kind == "response.output_item.done":
            return out + self._item_done(event["output_index"], event["item"])
        if kind == "response.content_part.added" and event["part"].get("type") in ("output_text", "refusal"):
            index, events = self._open(TextBlock(""))
            self._parts[(event["output_index"], event["content_index"])] = index
            return out + events
        if kind == "response.content_part.done":
            key = (event["output_index"], event["content_index"])
            return out + ([BlockStop(self._parts.pop(key))] if key in self._parts else [])
        part = self._parts.get((event.get("output_index", -1), event.get("content_index", -1)))
        if kind in ("response.output_text.delta", "response.refusal.delta") and part is not None:
            self._refused = self._refused or kind == "response.refusal.delta"
            return out + [TextDelta(part, event["delta"], token_logprobs.entries(event.get("logprobs")))]
        if kind == "response.output_text.annotation.added" and part is not None:
            return out + [TextAnnotation(part, event["annotation"])]
        output_index = event.get("output_index", -1)
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta") and output_index in self._reasoning:
            added = self._reasoning.pop(output_index)  # the reasoning has a summary to show: its block opens
            index, opened = self._open(ThinkingBlock("", summary=True, openai_item=added))
            self._items[output_index] = index
            out += opened
        item = self._items.get(output_index)
        if item is None:
            return out
        if kind == "response.function_call_arguments.delta":
            self._arguments_seen.add(item)
            return out + [ToolInputDelta(item, event["delta"])]
        if kind == "response.custom_tool_call_input.delta" and item in self._custom:
            first = item not in self._arguments_seen
            self._arguments_seen.add(item)
            return out + [ToolInputDelta(item, custom_tools.input_fragment(event["delta"], first))]
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return out + [ThinkingDelta(item, event["delta"])]
        if item in self._hosted:
            fields = {k: v for k, v in event.items() if k not in _PLACE_FIELDS}
            return out + [HostedToolProgress(item, kind, fields)]
        return out

    def _item_added(self, output_index: int, item: dict[str, Any]) -> list[StreamEvent]:
        kind = item.get("type")
        if kind == "message":
            return []  # its content parts are the blocks
        if kind == "reasoning":  # its block opens with its first summary delta, or when done with its encrypted_content
            self._reasoning[output_index] = item
            return []
        block: ToolUseBlock | HostedToolBlock
        if kind in ("function_call", "custom_tool_call"):
            block = ToolUseBlock(str(item["call_id"]), str(item["name"]))
        else:
            block = HostedToolBlock(item)
        index, events = self._open(block)
        self._items[output_index] = index
        if isinstance(block, HostedToolBlock):
            self._hosted.add(index)
        elif kind == "custom_tool_call":
            self._custom.add(index)
        return events

    def _item_done(self, output_index: int, item: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._reasoning.pop(output_index, None) is not None:  # reasoning no summary opened
            if not item.get("encrypted_content"):
                return []  # nothing to show, nor to send back
            index, events = self._open(ThinkingBlock("", summary=True, openai_item=item))
            self._items[output_index] = index
        if output_index not in self._items:
            return events
        index = self._items.pop(output_index)
        if index in self._hosted or item.get("type") == "reasoning":  # its final state: whole only now
            events.append(HostedToolUpdate(index, item))
        elif item.get("type") == "function_call" and index not in self._arguments_seen and item.get("arguments"):
            events.append(ToolInputDelta(index, str(item["arguments"])))  # the arguments came whole
        elif index in self._custom:
            self._custom.discard(index)
            # Its arguments close; or, its input not streamed, come whole.
            if index in self._arguments_seen:
                events.append(ToolInputDelta(index, custom_tools.INPUT_END))
            else:
                events.append(ToolInputDelta(index, json.dumps({custom_tools.INPUT: str(item.get("input") or "")})))
        return [*events, BlockStop(index)]

    def _end(self, response: dict[str, Any]) -> list[StreamEvent]:
        self._done = True
        # A custom call still open has its arguments closed first.
        events: list[StreamEvent] = [ToolInputDelta(index, custom_tools.INPUT_END) for index in sorted(self._custom & self._arguments_seen)]
        events += [BlockStop(index) for index in sorted({*self._items.values(), *self._parts.values()})]
        self._items.clear()
        self._parts.clear()
        stop_reason = _stop_reason(response, self._refused)
        return [*events, MessageDelta(stop_reason, openai.decode_usage(response.get("usage"), "input", "output")), MessageStop()]
