"""A fake Anthropic Messages API: POST /v1/messages (SSE or JSON) and /v1/messages/count_tokens.

Claude's web search server tool is imitated as Claude runs it: when the request offers a
``web_search_…`` tool, the answer starts with a ``server_tool_use`` searching for the last user
text and its ``web_search_tool_result`` (one page, its ``encrypted_content``), and the text cites
that page (``citations``, ``citations_delta`` when streamed). A request offering a
``code_execution_…`` tool runs in a container: the one it names, or a new one, which the answer
names (``container``, in the ``message_delta`` when streamed). Server-side compaction
(``compact_20260112`` in ``context_management``, under the ``compact-2026-01-12`` beta) runs as
Claude runs it: once the input passes the trigger, the answer opens with a ``compaction`` block
summarising the user's turns (streamed as one ``compaction_delta``), and stops there
(``compaction``) when ``pause_after_compaction`` asks; a compaction request (``compaction``, under
the ``compact-2026-09-04`` beta) is answered with that block alone. A resent compaction block is
refused outside an assistant turn or without a compaction beta, and stands for everything before
it."""

from __future__ import annotations

import hashlib
import json
import secrets
import string
from typing import Any, NamedTuple

from tests.fakes.behaviours import HttpError, Reply, word_chunks
from tests.fakes.playback import Exchange, Frame
from tests.fakes.recording import RecordedRequest, count_tokens
from tests.fakes.server import ErrorResponse, FakeServer, Route

_ALPHABET = string.ascii_letters + string.digits

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_CONTEXT_WINDOW = 200_000
#: How many blocks before a breakpoint Claude looks for a cached prefix (its documented lookback).
CACHE_LOOKBACK = 20


def anthropic_id(prefix: str) -> str:
    """Ids shaped like the API's: ``msg_01`` / ``toolu_01`` / ``req_011C`` + base62."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeAnthropic(FakeServer):
    provider = "anthropic"

    def __init__(self, *, port: int = 0, api_key: str | None = None, rejects_prefill: bool = False, **kw: Any) -> None:
        super().__init__(port=port, **kw)
        #: When set, any other key (x-api-key or bearer) gets 401 authentication_error.
        self.api_key = api_key
        #: Like newer Claude models: a conversation ending with an assistant turn gets a 400.
        self.rejects_prefill = rejects_prefill
        #: Prompt prefixes written to the cache (by their content), as Claude's prompt cache keeps them.
        self.cached_prefixes: set[str] = set()
        #: The prompt tokens each answer wrote to the cache, as its usage said (a test prices them).
        self.cache_writes: list[int] = []

    @property
    def messages_url(self) -> str:
        return self.url + "/v1/messages"

    @property
    def count_tokens_url(self) -> str:
        return self.url + "/v1/messages/count_tokens"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            ("POST", "/v1/messages"): self.answer,
            ("POST", "/v1/messages/count_tokens"): self._count_tokens,
        }

    async def _count_tokens(self, exchange: Exchange, request: RecordedRequest) -> None:
        refusal = self.refuse(request)
        if refusal is not None:
            await self._send_error(exchange, request, refusal)
            return
        await self.send_json(exchange, {"input_tokens": request.input_tokens()})

    def refuse(self, request: RecordedRequest) -> HttpError | None:
        # The SDK sends x-api-key or, since 2.x, a bearer token; the API takes either.
        if self.api_key is not None and request.api_key != self.api_key:
            return HttpError(kind="invalid_api_key")
        messages = request.messages
        if isinstance(request.json, dict) and "thread" in request.json:  # a proxy must hold what it was asked to hold
            return HttpError(status=400, type="invalid_request_error", message="thread: this fake Claude holds no threads")
        refused = _misplaced_compaction(request)
        if refused is not None:
            return refused
        if self.rejects_prefill and messages and messages[-1].get("role") == "assistant":
            return HttpError(kind="prefill_rejected")
        return _orphan_tool_result(messages)

    def response_headers(self, request: RecordedRequest) -> dict[str, str]:
        return {"request-id": anthropic_id("req_011C")}

    # ------------------------------------------------------------ answers

    def _stop_reason(self, reply: Reply) -> str:
        if reply.stop_reason is not None:
            return reply.stop_reason
        return "tool_use" if reply.tool_calls else "end_turn"

    @staticmethod
    def _output_tokens(reply: Reply, text: str) -> int:
        """Claude counts thinking in the output tokens."""
        calls = sum(count_tokens(c.name + c.arguments_json()) for c in reply.tool_calls)
        return max(1, count_tokens(reply.thinking) + count_tokens(text) + calls)

    @staticmethod
    def _signature(thinking: str) -> str:
        """Claude's thinking signature: opaque; here derived from the thinking, so a test can check it comes back."""
        return "sig_" + hashlib.sha256(thinking.encode()).hexdigest()[:24]

    def _cache(self, request: RecordedRequest) -> tuple[int, int]:
        """(tokens read from the cache, tokens written to it), as Claude counts them: the prompt
        (tools, then system, then messages) up to each ``cache_control`` breakpoint is a prefix
        (a top-level ``cache_control``, automatic caching, marks the last block); the longest one
        cached before, at a breakpoint or up to ``CACHE_LOOKBACK`` blocks before one, is read, the
        rest up to the last breakpoint is written."""
        body = request.json if isinstance(request.json, dict) else {}
        system = body.get("system")
        parts: list[Any] = [*(body.get("tools") or []), *(system if isinstance(system, list) else [])]
        for message in body.get("messages") or []:
            content = message.get("content")
            parts += content if isinstance(content, list) else [{"type": "text", "text": content, "role": message.get("role")}]
        prefix: list[Any] = [] if isinstance(system, list) or system is None else [system]
        keys, marked = [], []
        for part in parts:
            prefix.append({k: v for k, v in part.items() if k != "cache_control"} if isinstance(part, dict) else part)
            keys.append(json.dumps(prefix, sort_keys=True))
            marked.append(isinstance(part, dict) and bool(part.get("cache_control")))
        if body.get("cache_control") and marked:
            marked[-1] = True
        read = written = 0
        earlier = set(self.cached_prefixes)  # what requests before this one cached
        for index in (i for i, mark in enumerate(marked) if mark):
            looked = (keys[i] for i in range(index, max(-1, index - CACHE_LOOKBACK), -1))
            hit = next((key for key in looked if key in earlier), None)
            read = max(read, count_tokens(hit)) if hit else read
            if keys[index] not in earlier:
                self.cached_prefixes.add(keys[index])
                written = count_tokens(keys[index]) - read
        return read, max(0, written)

    def _usage(self, request: RecordedRequest, output_tokens: int) -> dict[str, Any]:
        read, written = self._cache(request)
        self.cache_writes.append(written)
        return {
            "input_tokens": max(1, request.input_tokens() - read - written),
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": written, "ephemeral_1h_input_tokens": 0},
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }

    def _message(self, request: RecordedRequest, content: list[dict[str, Any]], stop: str | None, usage: dict) -> dict:
        return {
            "id": anthropic_id("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": request.model or "claude-unknown",
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }

    def complete_body(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        text = "".join(reply.text_chunks(request))
        search = _web_search(request)
        compaction = _compaction(request)
        if compaction is not None and compaction.pause:
            return self._message(request, [compaction.block], "compaction", self._usage(request, count_tokens(compaction.summary)))
        content: list[dict[str, Any]] = [compaction.block] if compaction else []
        content += (
            [{"type": "thinking", "thinking": reply.thinking, "signature": self._signature(reply.thinking)}] if reply.thinking else []
        )
        content += [search.use, search.result] if search else []
        content += [{"type": "text", "text": text, **({"citations": [search.citation]} if search else {})}] if text or not reply.tool_calls else []
        content += [
            {"type": "tool_use", "id": c.id or anthropic_id("toolu_01"), "name": c.name, "input": dict(c.arguments), **c.extra}
            for c in reply.tool_calls
        ]
        usage = self._usage(request, self._output_tokens(reply, text)) | (_SEARCHED if search else {})
        container = _container(request)
        return self._message(request, content, self._stop_reason(reply), usage) | ({"container": container} if container else {})

    def stream_frames(self, reply: Reply, request: RecordedRequest) -> list[Frame]:
        chunks = reply.text_chunks(request)
        start_usage = self._usage(request, 1)
        frames = [Frame(_sse("message_start", {"type": "message_start", "message": self._message(request, [], None, start_usage)}))]
        index = 0
        compaction = _compaction(request)
        if compaction is not None:  # the summary whole, in one delta
            frames.append(_block_start(index, {"type": "compaction", "content": None, "signature": compaction.block["signature"]}, content=True))
            frames.append(_block_delta(index, {"type": "compaction_delta", "content": compaction.summary, "encrypted_content": None}))
            frames.append(_block_stop(index))
            index += 1
            if compaction.pause:
                return frames + self._end_frames(request, "compaction", {"output_tokens": count_tokens(compaction.summary)}, None)
        if reply.thinking:
            frames.append(_block_start(index, {"type": "thinking", "thinking": "", "signature": ""}))
            frames += [_block_delta(index, {"type": "thinking_delta", "thinking": piece}) for piece in word_chunks(reply.thinking)]
            frames.append(_block_delta(index, {"type": "signature_delta", "signature": self._signature(reply.thinking)}))
            frames.append(_block_stop(index))
            index += 1
        search = _web_search(request)
        if search:  # as Claude streams it: the query as input deltas, the results whole
            frames.append(_block_start(index, {**search.use, "input": {}}, content=True))
            frames.append(_block_delta(index, {"type": "input_json_delta", "partial_json": json.dumps(search.use["input"])}))
            frames.append(_block_stop(index))
            frames += [_block_start(index + 1, search.result, content=True), _block_stop(index + 1)]
            index += 2
        if chunks or not reply.tool_calls:
            frames.append(_block_start(index, {"type": "text", "text": ""}))
            frames.append(Frame(_sse("ping", {"type": "ping"})))
            frames += [_block_delta(index, {"type": "text_delta", "text": piece}) for piece in chunks]
            frames += [_block_delta(index, {"type": "citations_delta", "citation": search.citation})] if search else []
            frames.append(_block_stop(index))
            index += 1
        for call in reply.tool_calls:
            block = {"type": "tool_use", "id": call.id or anthropic_id("toolu_01"), "name": call.name, "input": {}, **call.extra}
            frames.append(_block_start(index, block, content=True))
            frames += [_block_delta(index, {"type": "input_json_delta", "partial_json": piece}) for piece in call.argument_fragments()]
            frames.append(_block_stop(index))
            index += 1
        output_tokens = self._output_tokens(reply, "".join(chunks))
        usage = {"output_tokens": output_tokens} | (_SEARCHED if search else {})  # the searches, counted at the end
        return frames + self._end_frames(request, self._stop_reason(reply), usage, _container(request))

    @staticmethod
    def _end_frames(request: RecordedRequest, stop_reason: str, usage: dict[str, Any], container: dict[str, Any] | None) -> list[Frame]:
        delta = {
            "type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None, **({"container": container} if container else {})},
            "usage": usage,
        }  # fmt: skip
        return [Frame(_sse("message_delta", delta)), Frame(_sse("message_stop", {"type": "message_stop"}), terminator=True)]

    def malformed_frame(self) -> bytes:
        return b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "te\n\n'

    def stream_error_frame(self) -> bytes:
        return _sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})

    # ------------------------------------------------------------ errors

    def error_response(self, error: HttpError, request: RecordedRequest) -> ErrorResponse:
        status, kind_type, message, headers = self._error_defaults(error, request)
        error_type = error.type or kind_type or _ERROR_TYPES.get(status, "api_error")
        request_id = anthropic_id("req_011C")
        body = {"type": "error", "error": {"type": error_type, "message": error.message or message}, "request_id": request_id}
        return ErrorResponse(status, json.dumps(body).encode(), {"request-id": request_id, **headers})

    def _error_defaults(self, error: HttpError, request: RecordedRequest) -> tuple[int, str | None, str, dict[str, str]]:
        """Status, error type, message and extra headers the real API uses for ``error.kind``."""
        model = request.model or "claude-unknown"
        if error.kind == "overloaded":
            return error.status or 529, "overloaded_error", "Overloaded", {}
        if error.kind == "rate_limited":
            message = "This request would exceed the rate limit for your organization of 50 requests per minute."
            headers = {
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:00Z",
            }
            return error.status or 429, "rate_limit_error", message, headers
        if error.kind == "out_of_credit":
            message = (
                "Your credit balance is too low to access the Anthropic API. "
                "Please go to Plans & Billing to upgrade or purchase credits."
            )
            return error.status or 400, "invalid_request_error", message, {}
        if error.kind == "invalid_api_key":
            return error.status or 401, "authentication_error", "invalid x-api-key", {}
        if error.kind == "context_too_long":
            message = f"prompt is too long: {request.input_tokens() + _CONTEXT_WINDOW} tokens > {_CONTEXT_WINDOW} maximum"
            return error.status or 400, "invalid_request_error", message, {}
        if error.kind == "content_blocked":
            return error.status or 400, "invalid_request_error", "Output blocked by content filtering policy", {}
        if error.kind == "model_not_found":
            return error.status or 404, "not_found_error", f"model: {model}", {}
        if error.kind == "prefill_rejected":
            message = "This model does not support assistant message prefill. The conversation must end with a user message."
            return error.status or 400, "invalid_request_error", message, {}
        status = error.status or 500
        return status, None, _DEFAULT_MESSAGES.get(status, "Internal server error"), {}


_DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found",
    429: "Rate limited",
    500: "Internal server error",
    503: "Service unavailable",
    529: "Overloaded",
}


def _orphan_tool_result(messages: list[dict[str, Any]]) -> HttpError | None:
    """Claude's 400 for a ``tool_result`` answering no ``tool_use`` of the assistant message just before it."""
    for i, message in enumerate(messages):
        previous = messages[i - 1] if i and messages[i - 1].get("role") == "assistant" else {}
        calls = {b.get("id") for b in _blocks(previous) if b.get("type") == "tool_use"}
        for j, block in enumerate(_blocks(message)):
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in calls:
                return HttpError(status=400, type="invalid_request_error", message=(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {block.get('tool_use_id')}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                ))  # fmt: skip
    return None


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _container(request: RecordedRequest) -> dict[str, Any] | None:
    """The code-execution container the answer ran in, when the request offers the tool."""
    body = request.json if isinstance(request.json, dict) else {}
    if not any(isinstance(tool, dict) and str(tool.get("type", "")).startswith("code_execution_") for tool in body.get("tools") or []):
        return None
    named = body.get("container")
    return {"id": named if isinstance(named, str) else anthropic_id("container_011C"), "expires_at": "2026-12-07T18:00:00Z"}


#: Claude's default compaction trigger (input tokens).
_COMPACTION_TRIGGER = 150_000
COMPACTION_BETA = "compact-2026-01-12"
#: The beta of compaction requests (a ``compaction`` setting in the body).
COMPACTION_REQUEST_BETA = "compact-2026-09-04"


class Compaction(NamedTuple):
    summary: str
    #: The answer stops after the compaction block (``pause_after_compaction``).
    pause: bool

    @property
    def block(self) -> dict[str, Any]:
        return {"type": "compaction", "content": self.summary, "encrypted_content": None, "signature": _signed(self.summary)}


def _signed(summary: str) -> str:
    """Claude's signature over a compaction's summary: opaque; here derived from it, so a block no Claude wrote is refused."""
    return "sig_" + hashlib.sha256(summary.encode()).hexdigest()[:24]


def _compaction(request: RecordedRequest) -> Compaction | None:
    """Claude's compaction of this request, when it asks for one and its input passes the trigger:
    a summary naming the user's turns since the last compaction."""
    body = request.json if isinstance(request.json, dict) else {}
    edits = (body.get("context_management") or {}).get("edits") or []
    edit = next((e for e in edits if isinstance(e, dict) and e.get("type") == "compact_20260112"), None)
    asked = [_text(message)[:40] for message in _since_compaction(request.messages) if message.get("role") == "user"]
    summary = "Summary: the user asked " + "; ".join(a for a in asked if a)
    if isinstance(body.get("compaction"), dict):  # a compaction request: the block alone, whatever the length
        return Compaction(summary, True)
    if edit is None:
        return None
    trigger = (edit.get("trigger") or {}).get("value") or _COMPACTION_TRIGGER
    if request.input_tokens() < trigger:
        return None
    return Compaction(summary, bool(edit.get("pause_after_compaction")))


def _since_compaction(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What Claude reads of a conversation: the messages after its last compaction block."""
    for at in range(len(messages) - 1, -1, -1):
        if any(block.get("type") == "compaction" and block.get("content") for block in _blocks(messages[at])):
            return messages[at + 1 :]
    return messages


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else " ".join(str(b.get("text") or "") for b in _blocks(message) if b.get("type") == "text")


def _misplaced_compaction(request: RecordedRequest) -> HttpError | None:
    """Claude's 400 for a resent compaction block outside an assistant turn, or without a
    compaction beta; and for a compaction request without its beta."""
    betas = request.headers.get("anthropic-beta", "")
    body = request.json if isinstance(request.json, dict) else {}
    if "compaction" in body and COMPACTION_REQUEST_BETA not in betas:
        return HttpError(status=400, type="invalid_request_error", message=f"compaction: requires the {COMPACTION_REQUEST_BETA} beta")
    for i, message in enumerate(request.messages):
        for j, block in enumerate(_blocks(message)):
            if block.get("type") != "compaction":
                continue
            if message.get("role") != "assistant":
                return HttpError(status=400, type="invalid_request_error", message=f"messages.{i}.content.{j}: compaction blocks are only allowed in assistant messages")
            if block.get("content") is not None and block.get("signature") != _signed(str(block["content"])):  # not Claude's
                return HttpError(status=400, type="invalid_request_error", message=f"messages.{i}.content.{j}: invalid compaction block signature")
            if COMPACTION_BETA not in betas and COMPACTION_REQUEST_BETA not in betas:
                return HttpError(status=400, type="invalid_request_error", message=f"messages.{i}.content.{j}.type: 'compaction' requires the {COMPACTION_BETA} beta")
    return None


#: What a web search adds to Claude's usage: the searches it billed.
_SEARCHED = {"server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}}


class WebSearch(NamedTuple):
    use: dict[str, Any]
    result: dict[str, Any]
    citation: dict[str, Any]


def _web_search(request: RecordedRequest) -> WebSearch | None:
    """Claude's web search for this request, when it offers the tool: the last user text searched,
    one page found, and the citation of it."""
    body = request.json if isinstance(request.json, dict) else {}
    if not any(isinstance(tool, dict) and str(tool.get("type", "")).startswith("web_search_") for tool in body.get("tools") or []):
        return None
    query = request.last_user_text()
    use = {"type": "server_tool_use", "id": anthropic_id("srvtoolu_01"), "name": "web_search", "input": {"query": query}}
    page = {"url": "https://example.org/found", "title": f"About {query}"[:80]}
    result = {
        "type": "web_search_tool_result", "tool_use_id": use["id"],
        "content": [{"type": "web_search_result", **page, "encrypted_content": "Eq" + secrets.token_urlsafe(24), "page_age": "2 days ago"}],
    }
    citation = {"type": "web_search_result_location", **page, "encrypted_index": "Eo" + secrets.token_urlsafe(12), "cited_text": query[:150]}
    return WebSearch(use, result, citation)


def _block_start(index: int, block: dict[str, Any], content: bool = False) -> Frame:
    return Frame(_sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}), content=content)


def _block_delta(index: int, delta: dict[str, Any]) -> Frame:
    return Frame(_sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}), content=True)


def _block_stop(index: int) -> Frame:
    return Frame(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
