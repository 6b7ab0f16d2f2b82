"""Answers for request heads that Tornado's HTTP/1 parser refuses before any handler runs.

Tornado closes a connection whose request line and headers outgrow ``max_header_size`` (64 KB)
without a word, and answers a malformed head (obsolete line folding, a NUL or other control
character, a bad request line) with a bare ``400`` status line. The client cannot tell why, and
an SDK reports a dropped connection. ``AnsweringIOStream`` says why, as JSON in the error shape
every Trooper route uses (``{"type": "error", "error": {"type", "message"}}``: what the Anthropic
SDK reads, and the ``error`` object the OpenAI SDK reads), then closes as Tornado would.
"""

from __future__ import annotations

import json
from typing import Any

from tornado.iostream import IOStream, UnsatisfiableReadError

#: What Tornado writes for a malformed head (``HTTP1Connection._read_message_inner``).
TORNADO_BARE_400 = b"HTTP/1.1 400 Bad Request\r\n\r\n"


def _answer(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"type": "error", "error": {"type": "invalid_request_error", "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


HEAD_TOO_LARGE = _answer(
    431,
    "Request Header Fields Too Large",
    "the request line and headers are larger than 64 KB together: send long data in the body",
)
HEAD_MALFORMED = _answer(
    400,
    "Bad Request",
    "malformed HTTP request head: a bad request line, a header line folded onto the next, "
    "or a NUL or other control character in a header",
)


class AnsweringIOStream(IOStream):
    """A server connection's stream that answers a refused request head instead of going quiet."""

    def write(self, data: bytes | memoryview, *args: Any, **kwargs: Any) -> Any:
        if data == TORNADO_BARE_400:
            data = HEAD_MALFORMED
        return super().write(data, *args, **kwargs)

    def close(self, exc_info: Any = False) -> None:
        # The head limit trips inside read_until_regex, which closes the stream at once: the answer
        # goes straight to the socket (a few hundred bytes, which a fresh socket's buffer takes).
        if not self.closed() and _is_unsatisfiable_read(exc_info):
            try:
                self.socket.send(HEAD_TOO_LARGE)
            except OSError:
                pass
        super().close(exc_info)


def _is_unsatisfiable_read(exc_info: Any) -> bool:
    if isinstance(exc_info, tuple):
        exc_info = exc_info[1]
    return isinstance(exc_info, UnsatisfiableReadError)
