"""Errors raised while decoding an upstream's wire format.

Every decoder failure is a ``WireError`` so a provider needs one ``except`` to turn it into
``UpstreamError(kind="stream")``. ``UpstreamStreamError`` is the special case where the upstream
itself reported a failure inside a stream that had already started (Anthropic ``event: error``,
OpenAI ``data: {"error": ...}``, Ollama ``{"error": ...}``): it carries the upstream's canonical
error type and message so the router can classify it like an HTTP error.
"""

from __future__ import annotations


class WireError(ValueError):
    """A frame could not be decoded, or the stream ended without its terminator."""

    #: How the router tells this failure apart from other broken streams ("" for none).
    error_type = ""


class UnterminatedStream(WireError):
    """The stream ended without its terminator (``message_stop``, ``[DONE]``, ``done``)."""

    error_type = "stream_unterminated"


class EmptyStream(WireError):
    """The stream finished without a single content block."""

    error_type = "stream_empty"


class UpstreamStreamError(WireError):
    """The upstream sent an error frame in the middle of a stream."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
