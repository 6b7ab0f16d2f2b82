"""A scripted in-process provider: each call plays the next step of its script.

For fast unit tests of the router's every branch (retry, fallback, rescue, surface, breaker,
timeouts) without HTTP. The end-to-end tests keep the fake upstreams in ``tests/fakes``, which
speak the real wire formats over real sockets.

A step is one of:

- ``Answer(text)``: a whole answer (``complete`` returns it; ``stream`` yields it in chunks);
- ``Fail(kind, ...)``: an ``UpstreamError`` before anything is produced;
- ``CutAfter(text, ...)``: streams ``text`` and then breaks (for ``complete``, plain ``Fail``);
- ``Hang()``: never answers (the router's timeouts must end it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from trooper.conversation import (
    BlockStart,
    BlockStop,
    EventStream,
    MessageDelta,
    MessageStart,
    MessageStop,
    Request,
    Response,
    StreamEvent,
    TextBlock,
    TextDelta,
    Usage,
)
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions, Capabilities, Provider, Tier


@dataclass
class Answer:
    text: str
    chunks: int = 3


@dataclass
class Fail:
    kind: str = "http"
    status: int = 500
    error_type: str = "api_error"
    message: str = "scripted failure"
    retry_after: float | None = None


@dataclass
class CutAfter:
    text: str
    error_type: str = "stream_cut"


@dataclass
class Hang:
    pass


Step = Answer | Fail | CutAfter | Hang


@dataclass
class Call:
    """What the provider was asked: the request as it arrived, and whether it streamed."""

    request: Request
    stream: bool
    options: CallOptions


@dataclass(eq=False)
class ScriptedProvider(Provider):
    name: str
    tier: Tier = "cloud"
    script: list[Step] = field(default_factory=list)
    model: str = "scripted-model"
    context_window: int = 100_000
    #: Played when the script runs out.
    default: Step = field(default_factory=lambda: Answer("default answer"))
    calls: list[Call] = field(default_factory=list)

    def capabilities(self) -> Capabilities:
        return Capabilities(context_window=self.context_window)

    def _next(self, request: Request, stream: bool, options: CallOptions) -> Step:
        self.calls.append(Call(request, stream, options))
        return self.script.pop(0) if self.script else self.default

    def _error(self, step: Fail | CutAfter) -> UpstreamError:
        if isinstance(step, CutAfter):
            return UpstreamError(self.name, "stream", "scripted cut", error_type=step.error_type)
        return UpstreamError(
            self.name, step.kind, step.message, status=step.status if step.kind == "http" else 0,
            error_type=step.error_type, retry_after=step.retry_after,
        )

    async def complete(self, request: Request, options: CallOptions) -> Response:
        step = self._next(request, False, options)
        if isinstance(step, Hang):
            await asyncio.Event().wait()
        if isinstance(step, (Fail, CutAfter)):
            raise self._error(step)
        assert isinstance(step, Answer)
        return Response(f"msg-{self.name}-{len(self.calls)}", self.model, [TextBlock(step.text)], usage=Usage(10, 5))

    async def stream(self, request: Request, options: CallOptions) -> EventStream:
        step = self._next(request, True, options)
        if isinstance(step, Hang):
            await asyncio.Event().wait()
        if isinstance(step, Fail):
            raise self._error(step)
        text = step.text if isinstance(step, (Answer, CutAfter)) else ""
        yield MessageStart(f"msg-{self.name}-{len(self.calls)}", self.model, Usage(10, 0))
        yield BlockStart(0, TextBlock(""))
        for piece in _pieces(text, step.chunks if isinstance(step, Answer) else 2):
            yield TextDelta(0, piece)
        if isinstance(step, CutAfter):
            raise self._error(step)
        yield BlockStop(0)
        yield MessageDelta("end_turn", Usage(0, 5))
        yield MessageStop()


def _pieces(text: str, count: int) -> Iterator[str]:
    size = max(1, -(-len(text) // max(count, 1)))
    for start in range(0, len(text), size):
        yield text[start : start + size]


async def collect(events: EventStream) -> list[StreamEvent]:
    return [event async for event in events]
