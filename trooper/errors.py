"""Errors that cross module boundaries.

``TrooperError`` is what a front door turns into an error body in the caller's protocol shape.
``UpstreamError`` describes one failed upstream attempt; the router classifies it and decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trooper.redaction import redact

#: Canonical error types (Anthropic's vocabulary, which the OpenAI codec maps to its own).
ERROR_TYPES_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
    529: "overloaded_error",
}


def error_type_for_status(status: int) -> str:
    return ERROR_TYPES_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


class TrooperError(Exception):
    """An error to show the caller, with an HTTP status and a canonical error type; ``details``,
    what the error body's ``error.details`` tells a client's SDK (Claude's ``error_code``s)."""

    def __init__(self, status: int, message: str, error_type: str | None = None, details: dict[str, Any] | None = None) -> None:
        message = redact(message)  # it may quote what a client sent: a key pasted in the wrong field
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or error_type_for_status(status)
        self.details = details or {}
        #: Response headers that go with the error (Tornado clears earlier ones before an error).
        self.headers: dict[str, str] = {}


class InvalidRequest(TrooperError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message, "invalid_request_error")


@dataclass
class UpstreamError(Exception):
    """One upstream attempt failed.

    ``kind`` says how: ``http`` (an error status, ``status`` and ``body`` set), ``connect``
    (refused, reset, DNS; ``error_type`` ``connection_refused`` or ``connection_reset`` when
    refused or dropped before any response byte), ``timeout`` (connect / first token / idle / total budget), ``stream``
    (the stream broke: cut, malformed frame, missing terminator) or ``unavailable`` (a local tier
    that is not installed or not pulled).
    """

    provider: str
    kind: str
    message: str
    status: int = 0
    body: str = ""
    retry_after: float | None = None
    error_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # An upstream's words travel to the caller, the log and the store: never with a key in them.
        self.message, self.body = redact(self.message), redact(self.body)
        super().__init__(self.message)
        if not self.error_type:
            self.error_type = error_type_for_status(self.status) if self.status else "api_error"

    def __str__(self) -> str:
        where = f"{self.provider} {self.status}" if self.status else f"{self.provider} {self.kind}"
        return f"{where}: {self.message}"
