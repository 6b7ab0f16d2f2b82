"""Wrong access tokens are answered slowly, so a token cannot be guessed at the server's speed."""

from __future__ import annotations

import asyncio

from trooper.errors import TrooperError


class GuessThrottle:
    """Slows wrong tokens, wherever they come from.

    Not per address: behind jupyter-server-proxy every caller is 127.0.0.1, so a per-address
    lock-out would shut everyone out. Instead each wrong guess waits ``DELAY_SECONDS`` before its
    401 and at most ``MAX_WAITING`` wait at once, which caps guessing at
    ``MAX_WAITING / DELAY_SECONDS`` a second. A request with the right token never waits here.
    """

    DELAY_SECONDS = 1.0
    MAX_WAITING = 16

    def __init__(self) -> None:
        self._waiting = 0

    async def wrong_guess(self) -> None:
        """Wait out a wrong guess; a 429 when too many are waiting already."""
        if self._waiting >= self.MAX_WAITING:
            refusal = TrooperError(429, "too many wrong access tokens at once: try again in a second", "rate_limit_error")
            refusal.headers["retry-after"] = "1"
            raise refusal
        self._waiting += 1
        try:
            await asyncio.sleep(self.DELAY_SECONDS)
        finally:
            self._waiting -= 1
