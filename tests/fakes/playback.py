"""Putting a rendered answer on the wire, with pacing and faults, over one Tornado request."""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from typing import Mapping

import tornado.web
from tornado.iostream import StreamClosedError

from tests.fakes.behaviours import Reply, StreamFault


@dataclass(frozen=True)
class Frame:
    """One unit of a streamed answer: an SSE event or an NDJSON line, already encoded."""

    data: bytes
    #: Carries model output (text or tool-call pieces): what pacing and faults count.
    content: bool = False
    #: The protocol's end marker (message_stop, [DONE], done:true).
    terminator: bool = False


class Exchange:
    """The server side of one HTTP exchange, with the low-level moves faults need."""

    def __init__(self, handler: tornado.web.RequestHandler, stopping: asyncio.Event) -> None:
        self._handler = handler
        self._stopping = stopping
        self.client_gone = asyncio.Event()

    def _headers(self, status: int, headers: Mapping[str, str], content_type: str) -> None:
        self._handler.set_status(status)
        self._handler.set_header("Content-Type", content_type)
        for name, value in headers.items():
            self._handler.set_header(name, value)

    async def send(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        self._headers(status, headers or {}, content_type)
        await self._handler.finish(body)

    async def send_partial(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str], upto: int
    ) -> None:
        """Promise the whole body in Content-Length, deliver only ``upto`` bytes of it."""
        self._headers(status, headers, content_type)
        self._handler.set_header("Content-Length", str(len(body)))
        self._handler.write(body[:upto])
        await self._handler.flush()

    async def start_stream(self, content_type: str, headers: Mapping[str, str]) -> None:
        self._headers(200, headers, content_type)
        self._handler.set_header("Cache-Control", "no-cache")
        await self._handler.flush()

    async def write(self, data: bytes) -> None:
        self._handler.write(data)
        await self._handler.flush()

    async def finish(self) -> None:
        await self._handler.finish()

    async def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when the client left or the fake is stopping."""
        if seconds <= 0:
            return not self.client_gone.is_set()
        waiters = [asyncio.ensure_future(self.client_gone.wait()), asyncio.ensure_future(self._stopping.wait())]
        done, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        return not done

    def close(self) -> None:
        """Close the TCP connection with a FIN, whatever was (not) sent on it."""
        self._handler.detach().close()

    def reset(self) -> None:
        """Close the TCP connection with a RST (SO_LINGER 0), as a crashing peer does."""
        stream = self._handler.detach()
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.close()


def fault_position(frames: list[Frame], fault: StreamFault) -> int:
    """Index of the frame the fault replaces: the one after ``fault.after`` content frames."""
    seen = 0
    last_content = -1
    for index, frame in enumerate(frames):
        if frame.content:
            if seen == fault.after:
                return index
            seen += 1
            last_content = index
    return last_content + 1


async def play_stream(
    exchange: Exchange,
    frames: list[Frame],
    reply: Reply,
    *,
    content_type: str,
    headers: Mapping[str, str],
    malformed: bytes,
    error_frame: bytes,
) -> None:
    """Send the frames with the reply's pacing, applying its fault."""
    fault = reply.fault
    if fault is not None and fault.kind == "no_terminator":
        frames = [f for f in frames if not f.terminator]
        fault = None
    strike = fault_position(frames, fault) if fault is not None else len(frames)
    try:
        await exchange.start_stream(content_type, headers)
        first = True
        for index, frame in enumerate(frames):
            if index == strike and fault is not None:
                if fault.kind == "malformed":
                    await exchange.write(malformed)
                else:
                    await _strike(exchange, fault, error_frame)
                    return
            if frame.content:
                if not await exchange.wait(reply.first_token_delay if first else reply.chunk_delay):
                    exchange.close()
                    return
                first = False
            await exchange.write(frame.data)
        await exchange.finish()
    except StreamClosedError:
        pass  # the client went away; nothing left to send to


async def _strike(exchange: Exchange, fault: StreamFault, error_frame: bytes) -> None:
    if fault.kind == "error_event":
        await exchange.write(error_frame)
        await exchange.finish()
    elif fault.kind == "stall":
        await exchange.wait(fault.hold)
        exchange.close()
    elif fault.kind == "reset":
        exchange.reset()
    else:  # cut: a FIN in the middle of the chunked body
        exchange.close()


async def play_complete(
    exchange: Exchange,
    body: bytes,
    reply: Reply,
    *,
    content_type: str,
    headers: Mapping[str, str],
    chunk_count: int,
) -> None:
    """Send a non-streaming answer after the time the model would have taken to write it."""
    generation = reply.first_token_delay + reply.chunk_delay * max(0, chunk_count - 1)
    try:
        if not await exchange.wait(generation):
            exchange.close()
            return
        fault = reply.fault
        if fault is not None and fault.kind in ("cut", "reset", "stall"):
            await exchange.send_partial(200, body, content_type, headers, upto=len(body) // 2)
            if fault.kind == "stall":
                await exchange.wait(fault.hold)
            if fault.kind == "reset":
                exchange.reset()
            else:
                exchange.close()
        elif fault is not None and fault.kind == "malformed":
            await exchange.send(200, body[: len(body) // 2], content_type, headers)
        else:
            await exchange.send(200, body, content_type, headers)
    except StreamClosedError:
        pass
