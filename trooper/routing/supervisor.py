"""Time budgets around an upstream call: first token, then idle time between chunks.

The connect budget is the provider's (its HTTP client); here a stream must produce its first
content within ``first_token_timeout`` and then never go quiet for longer than ``idle_timeout``,
and a non-streaming answer must arrive within its budget (``within``). A stall becomes an
``UpstreamError(kind="timeout")`` that the router can act on. Both take an optional ``Slow``: a
call made once if no content has come by a shorter time (the race's hedge), on the same timer.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, NamedTuple, TypeVar

from trooper.conversation import (
    BlockStart,
    EventStream,
    HostedToolBlock,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolInputDelta,
    ToolUseBlock,
)
from trooper.errors import UpstreamError

T = TypeVar("T")


class Slow(NamedTuple):
    """``call()`` once, ``after`` seconds into a call that has produced no content by then."""

    after: float
    call: Callable[[], None]


class _Deadline:
    """One timer for a whole call, where ``asyncio.wait_for`` would start a task and a timer per
    event. ``arm`` gives the next event a budget; when the timer finds the budget spent while the
    call is still waiting, it cancels the waiting task (``supervise`` and ``within`` turn that into
    a timeout). A timer that fires before the budget is spent moves itself to the current
    deadline, or first makes the ``Slow`` call when that is due."""

    def __init__(self, slow: Slow | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[object] | None = None
        self._due: float | None = None
        self._slow = slow
        self._slow_due = None if slow is None else self._loop.time() + slow.after
        self._timer: asyncio.TimerHandle | None = None
        self.expired = False

    def arm(self, budget: float) -> None:
        self._task = asyncio.current_task()  # the task that will wait for the event
        self._due = self._loop.time() + budget
        if self._timer is None or self._timer.when() > self._due or self._slow_due is not None:
            self._schedule()

    def disarm(self) -> None:
        self._due = None

    def content_came(self) -> None:
        """No ``Slow`` call any more: the call has started answering."""
        self._slow = self._slow_due = None

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.expired and self._task is not None and hasattr(self._task, "uncancel"):
            # Python 3.11+ counts cancellations: take ours back so later timeouts in the task
            # (the handler's) still tell their own apart.
            self._task.uncancel()

    def _schedule(self) -> None:
        """Keep the timer at the earlier of the deadline and the ``Slow`` call, if any."""
        when = self._due
        if self._slow_due is not None and (when is None or self._slow_due < when):
            when = self._slow_due
        if when is None:
            return
        if self._timer is not None:
            if self._timer.when() <= when:
                return
            self._timer.cancel()  # an earlier time than the one the timer was set for
        self._timer = self._loop.call_at(when, self._check)

    def _check(self) -> None:
        self._timer = None
        now = self._loop.time()
        if self._slow is not None and self._slow_due is not None and now >= self._slow_due:
            call = self._slow.call
            self.content_came()  # once
            call()
        if self._due is not None and self._task is not None and now >= self._due:
            self.expired = True
            self._task.cancel()
            return
        self._schedule()


async def supervise(
    provider: str,
    events: EventStream,
    *,
    first_token_timeout: float,
    idle_timeout: float,
    slow: Slow | None = None,
) -> EventStream:
    iterator = events.__aiter__()
    deadline = _Deadline(slow)
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
            if not got_content and is_content(event):
                got_content = True
                deadline.content_came()
            yield event
    finally:
        deadline.close()
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


async def within(provider: str, answer: Awaitable[T], budget: float, *, slow: Slow | None = None) -> T:
    """``answer``, awaited in the caller's task, if it comes within ``budget`` seconds: one timer,
    where ``asyncio.wait_for`` (before Python 3.12) would start a task too."""
    deadline = _Deadline(slow)
    deadline.arm(budget)
    try:
        return await answer
    except asyncio.CancelledError:
        if not deadline.expired:
            raise
        raise UpstreamError(provider, "timeout", f"no answer within {budget:g} s") from None
    finally:
        deadline.close()


def _timeout(provider: str, got_content: bool, budget: float) -> UpstreamError:
    what = "stream stalled: no data" if got_content else "no first token"
    return UpstreamError(provider, "timeout", f"{what} within {budget:g} s")


def is_content(event: StreamEvent) -> bool:
    """The first token: a delta, or a tool call's start (its name is already content), a built-in
    tool's call among them."""
    if isinstance(event, (TextDelta, ThinkingDelta, ToolInputDelta)):
        return True
    return isinstance(event, BlockStart) and isinstance(event.block, (ToolUseBlock, HostedToolBlock))
