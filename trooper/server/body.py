"""Request bodies with a size limit enforced before they are buffered.

Tornado's own limit answers an oversized body with a bare ``400`` and a closed connection; here the
caller gets a 413 in its own protocol's error shape and the server reads no more than the limit.
"""

from __future__ import annotations

import tornado.web

from trooper.errors import TrooperError
from trooper.server.base import BaseHandler

#: How much of an oversized body is read (and discarded) so the caller can read a clean 413;
#: past this the connection is cut.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024


@tornado.web.stream_request_body
class LimitedBodyHandler(BaseHandler):
    def body_limit(self) -> int:
        """The most a body may hold on this route (``TROOPER_MAX_BODY_BYTES`` unless it says less)."""
        return self.state.settings.max_body_bytes

    def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        limit = self.body_limit()
        # Tornado would answer a chunked body over its own limit with a bare 400: let bodies up to
        # a bounded amount through, discarding what is past our limit, so the caller gets a 413.
        drain = max(limit * 2, DRAIN_LIMIT_BYTES)
        self.request.connection.set_max_body_size(drain)  # type: ignore[union-attr]  # an HTTP1Connection here
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            # Answering while the client is still sending makes its TCP stack see a reset before
            # it reads the answer; a body within reach is drained (not kept) and answered after.
            self._too_large = True
            if int(declared) > drain:
                raise TrooperError(413, self._too_large_message(), "request_too_large")

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.body_limit():
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    def read_body(self) -> bytes:
        """The whole body, or a 413 if it was over the limit."""
        if self._too_large:
            raise TrooperError(413, self._too_large_message(), "request_too_large")
        self.request.body = b"".join(self._chunks)
        return self.request.body

    def _too_large_message(self) -> str:
        limit = self.body_limit()
        setting = " (TROOPER_MAX_BODY_BYTES)" if limit == self.state.settings.max_body_bytes else ""
        return f"request body is larger than the limit of {limit} bytes{setting}"
