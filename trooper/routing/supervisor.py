"""Time budgets around an upstream stream: first token, then idle time between chunks.

The connect budget is the provider's (its HTTP client); here the stream must produce its first
content within ``first_token_timeout`` and then never go quiet for longer than ``idle_timeout``.
A stall becomes an ``UpstreamError(kind="timeout")`` that the router can act on.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from trooper.conversation import BlockStart, StreamEvent, TextDelta, ThinkingDelta, ToolInputDelta, ToolUseBlock
from trooper.errors import UpstreamError


async def supervise(
    provider: str,
    events: AsyncIterator[StreamEvent],
    *,
    first_token_timeout: float,
    idle_timeout: float,
) -> AsyncIterator[StreamEvent]:
    iterator = events.__aiter__()
    got_content = False
    try:
        while True:
            budget = idle_timeout if got_content else first_token_timeout
            try:
                event = await asyncio.wait_for(iterator.__anext__(), budget)
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:
                what = "stream stalled: no data" if got_content else "no first token"
                raise UpstreamError(provider, "timeout", f"{what} within {budget:g} s") from None
            got_content = got_content or _is_content(event)
            yield event
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


def _is_content(event: StreamEvent) -> bool:
    """The first token: a delta, or a tool call's start (its name is already content)."""
    if isinstance(event, (TextDelta, ThinkingDelta, ToolInputDelta)):
        return True
    return isinstance(event, BlockStart) and isinstance(event.block, ToolUseBlock)
