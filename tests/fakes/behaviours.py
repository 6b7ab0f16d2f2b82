"""The scripting vocabulary of the fakes: what to do with one request.

Behaviours are provider-neutral values; each fake renders them in its own wire format. A reply
can be degraded with a stream fault (``reply_text("Hi there").cut_after(1)``), and the error
helpers name a situation (``overloaded()``) that each provider reports in its own status and body.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping, Sequence

from tests.fakes.recording import RecordedRequest

DEFAULT_TEXT = "The quick brown fox jumps over the lazy dog."

#: Canonical stop reasons a reply may force; each fake maps them to its own vocabulary.
StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn"]

FaultKind = Literal["cut", "reset", "stall", "malformed", "no_terminator", "error_event"]

#: Situations every provider reports in its own way (status, error type, message).
ErrorKind = Literal[
    "overloaded",
    "rate_limited",
    "out_of_credit",
    "invalid_api_key",
    "context_too_long",
    "content_blocked",
    "model_not_found",
    "prefill_rejected",
    "tools_unsupported",
]

_WORD_CHUNK = re.compile(r"\S+\s*|\s+")


def word_chunks(text: str) -> list[str]:
    """Split text the way models stream it: one word with its trailing space per chunk."""
    return _WORD_CHUNK.findall(text) or [text]


def token_logprobs(piece: str, position: int, top: int) -> dict[str, Any]:
    """A token's log probability, as OpenAI and Ollama give it (each streamed piece taken as one
    token): fixed figures, so a test can compare what the client got with what was sent."""
    logprob = round(-0.01 * (position + 1), 4)
    alternatives = [piece, piece.upper(), piece.lower() + "?"][: top]
    return {
        "token": piece, "logprob": logprob, "bytes": list(piece.encode("utf-8")),
        "top_logprobs": [{"token": alt, "logprob": round(logprob - rank, 4), "bytes": list(alt.encode("utf-8"))} for rank, alt in enumerate(alternatives)],
    }  # fmt: skip


def asked_logprobs(request: RecordedRequest) -> int | None:
    """How many alternatives a token the request asks for (Chat Completions' and Ollama's
    ``logprobs`` / ``top_logprobs``), or None."""
    body = request.json if isinstance(request.json, dict) else {}
    return int(body.get("top_logprobs") or 0) if body.get("logprobs") is True else None


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Mapping[str, object] = field(default_factory=dict)
    #: The provider-shaped id is generated when None.
    id: str | None = None
    #: Pieces of the JSON arguments as streamed; by default the JSON is split in three.
    fragments: tuple[str, ...] | None = None
    #: The provider's own fields of the call (Claude's ``caller``, ``toolset_name``), as it sends them.
    extra: Mapping[str, object] = field(default_factory=dict)

    def arguments_json(self) -> str:
        return json.dumps(dict(self.arguments))

    def argument_fragments(self) -> list[str]:
        if self.fragments is not None:
            return list(self.fragments)
        whole = self.arguments_json()
        step = max(1, -(-len(whole) // 3))
        return [whole[i : i + step] for i in range(0, len(whole), step)]


def tool_call(
    name: str,
    arguments: Mapping[str, object] | None = None,
    *,
    id: str | None = None,
    fragments: Sequence[str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> ToolCall:
    if fragments is not None and "".join(fragments) != json.dumps(dict(arguments or {})):
        raise ValueError("fragments must join to json.dumps(arguments)")
    return ToolCall(name, dict(arguments or {}), id, tuple(fragments) if fragments is not None else None, dict(extra or {}))


@dataclass(frozen=True)
class StreamFault:
    kind: FaultKind
    #: Content chunks delivered before the fault strikes.
    after: int = 0
    #: For ``stall``: how long the silent socket stays open before it is closed.
    hold: float = 0.0


@dataclass(frozen=True)
class Reply:
    """A successful answer: text and/or tool calls, with pacing and an optional stream fault."""

    chunks: tuple[str, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    #: When set, the text is computed from the request instead of ``chunks``.
    echo: Callable[[RecordedRequest], str] | None = None
    first_token_delay: float = 0.0
    chunk_delay: float = 0.0
    #: Forces the reported stop reason (even a wrong one, to imitate upstreams that lie).
    stop_reason: StopReason | None = None
    fault: StreamFault | None = None
    #: Reasoning before the answer: Claude's thinking (signed), OpenAI-compatible reasoning_content.
    thinking: str = ""

    def text_chunks(self, request: RecordedRequest) -> list[str]:
        if self.echo is not None:
            return word_chunks(self.echo(request))
        return list(self.chunks)

    # Stream faults. In a non-streaming answer: cut/reset/stall send half the body, malformed sends
    # invalid JSON, error_event becomes the provider's overloaded error, no_terminator is moot.
    def cut_after(self, chunks: int) -> Reply:
        """Close the connection after ``chunks`` content chunks, mid-body, with no terminator."""
        return replace(self, fault=StreamFault("cut", chunks))

    def reset_after(self, chunks: int) -> Reply:
        """Reset the connection (RST) after ``chunks`` content chunks: the response had started."""
        return replace(self, fault=StreamFault("reset", chunks))

    def stall_after(self, chunks: int, hold: float = 10.0) -> Reply:
        """Go silent after ``chunks`` content chunks; close the socket ``hold`` seconds later."""
        return replace(self, fault=StreamFault("stall", chunks, hold))

    def malformed_after(self, chunks: int) -> Reply:
        """Send a frame of invalid JSON after ``chunks`` content chunks, then carry on."""
        return replace(self, fault=StreamFault("malformed", chunks))

    def error_after(self, chunks: int) -> Reply:
        """Send the provider's in-stream error (overloaded) after ``chunks`` chunks, then close."""
        return replace(self, fault=StreamFault("error_event", chunks))

    def without_terminator(self) -> Reply:
        """All content, then a clean close without message_stop / [DONE] / done:true."""
        return replace(self, fault=StreamFault("no_terminator"))

    def first_token_after(self, seconds: float) -> Reply:
        return replace(self, first_token_delay=seconds)


@dataclass(frozen=True)
class HttpError:
    """An error response; fields left None take the provider's values for ``kind`` or status."""

    status: int | None = None
    kind: ErrorKind | None = None
    message: str | None = None
    #: The provider's error type (Anthropic ``error.type``, OpenAI ``error.type``, Gemini status).
    type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Sent verbatim instead of the provider's error shape.
    body: str | None = None


@dataclass(frozen=True)
class ConnectionReset:
    """Accept the request, then reset the TCP connection before any response byte."""


@dataclass(frozen=True)
class Hang:
    """Send nothing; close the connection after ``seconds`` unless the client gives up first."""

    seconds: float = 30.0
    #: Send the status line and headers first (an upstream that accepted the request and then
    #: never produced its body or first event).
    after_headers: bool = False


Behaviour = Reply | HttpError | ConnectionReset | Hang


# ---------------------------------------------------------------- constructors


def reply_text(
    text: str | None = None,
    *,
    chunks: Sequence[str] | None = None,
    chunk_delay: float = 0.0,
    first_token_delay: float = 0.0,
    stop_reason: StopReason | None = None,
    thinking: str = "",
) -> Reply:
    """Answer with ``text``, streamed as ``chunks`` (default: word by word), after ``thinking``."""
    if chunks is None:
        chunks = word_chunks(DEFAULT_TEXT if text is None else text)
    elif text is not None and "".join(chunks) != text:
        raise ValueError(f"chunks {list(chunks)!r} do not join to {text!r}")
    return Reply(
        chunks=tuple(chunks),
        chunk_delay=chunk_delay,
        first_token_delay=first_token_delay,
        stop_reason=stop_reason,
        thinking=thinking,
    )


def reply_tool_calls(
    *calls: ToolCall,
    text: str = "",
    chunk_delay: float = 0.0,
    first_token_delay: float = 0.0,
    stop_reason: StopReason | None = None,
    thinking: str = "",
) -> Reply:
    """Answer with one or more (parallel) tool calls, optionally after some thinking and text."""
    if not calls:
        raise ValueError("reply_tool_calls needs at least one tool_call(...)")
    return Reply(
        chunks=tuple(word_chunks(text)) if text else (),
        tool_calls=tuple(calls),
        chunk_delay=chunk_delay,
        first_token_delay=first_token_delay,
        stop_reason=stop_reason,
        thinking=thinking,
    )


def echo(
    render: Callable[[RecordedRequest], str] | None = None,
    *,
    prefix: str = "",
    chunk_delay: float = 0.0,
    first_token_delay: float = 0.0,
) -> Reply:
    """Answer with text derived from the request: by default the last user (or tool) text, after
    ``prefix`` (which a fake in another process can be given as data, where ``render`` is code)."""
    read = render or RecordedRequest.last_user_text
    return Reply(
        echo=(lambda request: prefix + read(request)) if prefix else read,
        chunk_delay=chunk_delay,
        first_token_delay=first_token_delay,
    )


def slow_first_token(delay: float, text: str = DEFAULT_TEXT) -> Reply:
    return reply_text(text, first_token_delay=delay)


def stream_cut(after: int = 1, text: str = DEFAULT_TEXT) -> Reply:
    return reply_text(text).cut_after(after)


def stream_stall(after: int = 1, hold: float = 10.0, text: str = DEFAULT_TEXT) -> Reply:
    return reply_text(text).stall_after(after, hold)


def malformed_chunk(after: int = 1, text: str = DEFAULT_TEXT) -> Reply:
    return reply_text(text).malformed_after(after)


def missing_terminator(text: str = DEFAULT_TEXT) -> Reply:
    return reply_text(text).without_terminator()


def stream_error(after: int = 1, text: str = DEFAULT_TEXT) -> Reply:
    return reply_text(text).error_after(after)


def http_error(
    status: int,
    message: str | None = None,
    *,
    type: str | None = None,
    code: str | None = None,
    retry_after: float | None = None,
    retry_after_ms: int | None = None,
    headers: Mapping[str, str] | None = None,
    body: str | None = None,
) -> HttpError:
    """An error with this status, in the provider's error shape unless ``body`` is given."""
    return HttpError(status, None, message, type, code, retry_after, retry_after_ms, dict(headers or {}), body)


def _kind(kind: ErrorKind, **fields: object) -> HttpError:
    return HttpError(kind=kind, **fields)  # type: ignore[arg-type]


def overloaded(retry_after: float | None = None) -> HttpError:
    """Anthropic 529 overloaded_error; OpenAI / Gemini / Ollama 503."""
    return _kind("overloaded", retry_after=retry_after)


def rate_limited(retry_after: float | None = None, retry_after_ms: int | None = None) -> HttpError:
    """429 with the provider's rate-limit headers; retry hints only when given."""
    return _kind("rate_limited", retry_after=retry_after, retry_after_ms=retry_after_ms)


def out_of_credit() -> HttpError:
    """Anthropic 400 "credit balance is too low"; OpenAI 429 insufficient_quota; Gemini 429."""
    return _kind("out_of_credit")


def invalid_api_key() -> HttpError:
    return _kind("invalid_api_key")


def context_too_long() -> HttpError:
    return _kind("context_too_long")


def content_blocked() -> HttpError:
    return _kind("content_blocked")


def model_not_found() -> HttpError:
    """404 naming the requested model (Ollama: "model 'x' not found, try pulling it first")."""
    return _kind("model_not_found")


def server_error(status: int = 500, message: str | None = None) -> HttpError:
    return http_error(status, message)


def connection_reset() -> ConnectionReset:
    return ConnectionReset()


def hang(seconds: float = 30.0, *, after_headers: bool = False) -> Hang:
    return Hang(seconds, after_headers)
