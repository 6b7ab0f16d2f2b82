"""Random hex for the ids Trooper mints on a request's path, drawn from ``os.urandom`` 4 kB at a time.

``secrets.token_hex`` makes a system call per id: ≈ 1 µs in a loop, 10–15 µs in a serving process
answering a turn (measured in ``trooper serve``, thread CPU), where every Responses API answer
mints one. The bytes are the same kind (the operating system's CSPRNG), each handed out once; a
forked child starts a pool of its own, so it never repeats its parent's ids.
"""

from __future__ import annotations

import os
import threading

#: Bytes drawn per system call: 170 response ids.
POOL_BYTES = 4096


class RandomPool:
    """Unused bytes of one ``os.urandom`` call, handed out in order, each once (thread-safe)."""

    def __init__(self, size: int = POOL_BYTES) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._bytes = b""
        self._at = 0

    def token_hex(self, nbytes: int) -> str:
        """``nbytes`` random bytes, as ``secrets.token_hex(nbytes)`` gives them."""
        with self._lock:
            if self._at + nbytes > len(self._bytes):
                self._bytes, self._at = os.urandom(max(self._size, nbytes)), 0
            start = self._at
            self._at += nbytes
            return self._bytes[start : self._at].hex()

    def forget(self) -> None:
        """Drop what is left (a forked child must not hand out its parent's bytes)."""
        with self._lock:
            self._bytes, self._at = b"", 0


_POOL = RandomPool()
os.register_at_fork(after_in_child=_POOL.forget)
token_hex = _POOL.token_hex
