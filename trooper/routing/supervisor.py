"""Time budgets around an upstream stream: first token, then idle time between chunks.

The connect budget is the provider's (its HTTP client); here the stream must produce its first
content within ``first_token_timeout`` and then never go quiet for longer than ``idle_timeout``.
A stall becomes an ``UpstreamError(kind="timeout")`` that the router can act on.
"""

from __future__ import annotations

import asyncio

from trooper.conversation import BlockStart, EventStream, StreamEvent, TextDelta, ThinkingDelta, ToolInputDelta, ToolUseBlock
from trooper.errors import UpstreamError


class _Deadline:
    """One timer for a whole stream, where ``asyncio.wait_for`` would start a task and a timer per
    event. ``arm`` gives the next event a budget; when the timer finds the budget spent while the
    stream is still waiting, it cancels the waiting task (``supervise`` turns that into a timeout).
    A timer that fires before the budget is spent moves itself to the current deadline."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[object] | None = None
        self._due: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.expired = False

    def arm(self, budget: float) -> None:
        self._task = asyncio.current_task()  # the task that will wait for the event
        self._due = self._loop.time() + budget
        if self._timer is not None and self._timer.when() > self._due:
            self._timer.cancel()  # a shorter budget than the one the timer was set for
            self._timer = None
        if self._timer is None:
            self._timer = self._loop.call_at(self._due, self._check)

    def disarm(self) -> None:
        self._due = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.expired and self._task is not None and hasattr(self._task, "uncancel"):
            # Python 3.11+ counts cancellations: take ours back so later timeouts in the task
            # (the handler's) still tell their own apart.
            self._task.uncancel()

    def _check(self) -> None:
        self._timer = None
        if self._due is None or self._task is None:
            return
        if self._loop.time() < self._due:
            self._timer = self._loop.call_at(self._due, self._check)
            return
        self.expired = True
        self._task.cancel()


async def supervise(
    provider: str,
    events: EventStream,
    *,
    first_token_timeout: float,
    idle_timeout: float,
) -> EventStream:
    iterator = events.__aiter__()
    deadline = _Deadline()
    got_content = False
    try:
        while True:
            budget = idle_timeout if got_content else first_token_timeout
            deadline.arm(budget)
            try:
                event = await iterator.__anext__()
            except StopAsyncIteration:
                return
            except asyncio.CancelledError:
                if not deadline.expired:
                    raise
                raise _timeout(provider, got_content, budget) from None
            except asyncio.TimeoutError:
                raise _timeout(provider, got_content, budget) from None
            finally:
                deadline.disarm()
            got_content = got_content or is_content(event)
            yield event
    finally:
        deadline.close()
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


def _timeout(provider: str, got_content: bool, budget: float) -> UpstreamError:
    what = "stream stalled: no data" if got_content else "no first token"
    return UpstreamError(provider, "timeout", f"{what} within {budget:g} s")


def is_content(event: StreamEvent) -> bool:
    """The first token: a delta, or a tool call's start (its name is already content)."""
    if isinstance(event, (TextDelta, ThinkingDelta, ToolInputDelta)):
        return True
    return isinstance(event, BlockStart) and isinstance(event.block, ToolUseBlock)
