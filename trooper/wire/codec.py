"""The roles a ``trooper.wire`` module plays, as typed seams that mypy checks modules against.

A codec is a module (``anthropic``, ``openai``, ``ollama``, ``responses``, ``openai_responses``),
not a class: it holds no state, and its stream coders are the only objects. A provider takes an
``UpstreamCodec`` (canonical → the provider's request, its answer → canonical); a front door takes
a ``DoorCodec`` (the client's request → canonical, errors in its shape), and the Messages and Chat
Completions doors an ``AnswerCodec`` besides (answers and streams in the client's shape; the
Responses door writes its own, around each response's envelope).
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from trooper.conversation import Request, Response, StreamEvent


class StreamDecoding(Protocol):
    """Turns an upstream's response body, as its bytes arrive, into canonical events."""

    def feed(self, data: bytes) -> list[StreamEvent]: ...

    def finish(self) -> list[StreamEvent]: ...


class StreamEncoding(Protocol):
    """Turns canonical events into the bytes a client's stream carries."""

    def encode(self, event: StreamEvent) -> bytes: ...


class UpstreamCodec(Protocol):
    """What a provider needs of its protocol. ``encode_request(request, model, *, stream, …)``
    takes options of its own protocol besides (``num_ctx``, ``prompt_cache_key``…)."""

    @property
    def encode_request(self) -> Callable[..., dict[str, Any]]: ...

    def decode_response(self, body: dict[str, Any]) -> Response: ...

    def decode_error(self, status: int, body: bytes) -> tuple[str, str]: ...

    def StreamDecoder(self) -> StreamDecoding: ...


class DoorCodec(Protocol):
    """What every front door needs of its protocol: the request in, errors out."""

    def decode_request(self, body: dict[str, Any]) -> Request: ...

    def encode_error(self, status: int, error_type: str, message: str) -> dict[str, Any]: ...


class AnswerCodec(DoorCodec, Protocol):
    """A door's protocol that also writes the answer, whole or streamed, from the answer alone."""

    def encode_response(self, response: Response) -> dict[str, Any]: ...

    def StreamEncoder(self, model: str = "", *, include_usage: bool = False) -> StreamEncoding: ...
