"""The common machinery of every fake upstream.

A fake is a real Tornado HTTP server on 127.0.0.1 running in its own thread and event loop, so
sync tests, async tests and other processes can all talk to it. It records every request, answers
each one with the next scripted behaviour (or its default), and can be stopped and started again
on the same port to imitate an upstream that goes down and recovers.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Mapping

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from typing_extensions import Self

from tests.fakes.behaviours import (
    Behaviour,
    ConnectionReset,
    Hang,
    HttpError,
    Reply,
    overloaded,
    reply_text,
)
from tests.fakes.playback import Exchange, Frame, play_complete, play_stream
from tests.fakes.recording import RecordedRequest

Predicate = Callable[[RecordedRequest], bool]
Route = Callable[[Exchange, RecordedRequest], Awaitable[None]]

#: How long stop() waits for in-flight exchanges to wind down before dropping them.
_SHUTDOWN_GRACE = 2.0


@dataclass(frozen=True)
class _Scripted:
    behaviour: Behaviour
    when: Predicate | None


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    body: bytes
    headers: Mapping[str, str]
    content_type: str = "application/json"


def _parse(request: tornado.httputil.HTTPServerRequest) -> RecordedRequest:
    try:
        parsed: Any = json.loads(request.body) if request.body else None
    except ValueError:
        parsed = None
    return RecordedRequest(
        method=request.method or "GET",
        path=request.path,
        query=request.query,
        headers={name.lower(): value for name, value in request.headers.get_all()},
        body=request.body,
        json=parsed,
        arrived_at=time.monotonic(),
        client_port=request.connection.context.address[1],  # type: ignore[union-attr]
    )


class _Handler(tornado.web.RequestHandler):
    """Hands every request to the fake; the fake's route table decides what it means."""

    def initialize(self, fake: FakeServer) -> None:
        self.fake = fake
        self.exchange: Exchange | None = None
        self.recorded: RecordedRequest | None = None

    def check_xsrf_cookie(self) -> None:
        pass

    async def _serve(self) -> None:
        self.exchange = Exchange(self, self.fake._stopping)
        self.recorded = _parse(self.request)
        await self.fake._serve(self.exchange, self.recorded)

    get = post = put = delete = head = _serve  # type: ignore[assignment]

    def on_connection_close(self) -> None:
        # Tornado calls this only while the answer is unfinished: the client gave up on it.
        if self.exchange is not None:
            self.exchange.client_gone.set()
        if self.recorded is not None:
            self.fake._record_abandoned(self.recorded)


class FakeServer(abc.ABC):
    """Base of the provider fakes: lifecycle, recording and the behaviour script."""

    #: Name used by the runner and in messages.
    provider: ClassVar[str]

    def __init__(self, *, port: int = 0, default: Behaviour | None = None) -> None:
        self.port = port
        self.default: Behaviour = default if default is not None else reply_text()
        #: Every request received, oldest first. Survives stop/start; cleared by reset().
        self.requests: list[RecordedRequest] = []
        #: Requests whose client closed the connection before the answer was complete (a proxy
        #: cancelling an upstream call), in the order they were abandoned.
        self.abandoned: list[RecordedRequest] = []
        self._script: collections.deque[_Scripted] = collections.deque()
        #: Routes answered besides the provider's own (the runner adds its control API here).
        self.extra_routes: dict[tuple[str, str], Route] = {}
        self._lock = threading.Lock()
        self._arrivals = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123`` (valid once started)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> Self:
        """Listen (on the same port as before, after a stop) and serve in a background thread."""
        if self._thread is not None:
            return self
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1", family=socket.AF_INET)
        self.port = sockets[0].getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(sockets, ready), name=f"fake-{self.provider}:{self.port}", daemon=True
        )
        self._thread.start()
        ready.wait()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection; hanging exchanges end at once."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=_SHUTDOWN_GRACE + 5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._thread = self._loop = self._server = None

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._stopping = asyncio.Event()
        app = tornado.web.Application([(r"/.*", _Handler, {"fake": self})], log_function=lambda handler: None)
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets(sockets)
        ready.set()
        try:
            loop.run_forever()
        finally:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.stop()
        self._stopping.set()
        try:
            await asyncio.wait_for(self._server.close_all_connections(), _SHUTDOWN_GRACE)
        except asyncio.TimeoutError:
            pass

    # ------------------------------------------------------------ scripting

    def enqueue(self, *behaviours: Behaviour, when: Predicate | None = None, times: int = 1) -> None:
        """Queue behaviours, consumed one per matching request, in order.

        With ``when``, a behaviour is only used by a request the predicate accepts; requests it
        rejects take the next matching entry or the default.
        """
        with self._lock:
            for _ in range(times):
                self._script.extend(_Scripted(b, when) for b in behaviours)

    @property
    def pending(self) -> int:
        """How many queued behaviours have not been used yet."""
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget the recorded requests and the queued behaviours (the default stays)."""
        with self._lock:
            self.requests.clear()
            self.abandoned.clear()
            self._script.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests have arrived; return them all."""
        with self._arrivals:
            if not self._arrivals.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"fake {self.provider} got {len(self.requests)} requests, expected {count}")
            return list(self.requests)

    def wait_for_abandoned(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until the clients of at least ``count`` requests have hung up early; return those requests."""
        with self._arrivals:
            if not self._arrivals.wait_for(lambda: len(self.abandoned) >= count, timeout):
                raise TimeoutError(f"fake {self.provider}: {len(self.abandoned)} requests abandoned, expected {count}")
            return list(self.abandoned)

    @property
    def last_request(self) -> RecordedRequest:
        if not self.requests:
            raise LookupError(f"fake {self.provider} has received no request")
        return self.requests[-1]

    def _record(self, recorded: RecordedRequest) -> None:
        with self._arrivals:
            self.requests.append(recorded)
            self._arrivals.notify_all()

    def _record_abandoned(self, recorded: RecordedRequest) -> None:
        with self._arrivals:
            self.abandoned.append(recorded)
            self._arrivals.notify_all()

    def _next_behaviour(self, request: RecordedRequest) -> Behaviour:
        with self._lock:
            for entry in self._script:
                if entry.when is None or entry.when(request):
                    self._script.remove(entry)
                    return entry.behaviour
        return self.default

    # ------------------------------------------------------------ serving

    async def _serve(self, exchange: Exchange, request: RecordedRequest) -> None:
        key = (request.method, request.path)
        if key in self.extra_routes:  # control traffic is not part of what the upstream received
            await self.extra_routes[key](exchange, request)
            return
        self._record(request)
        route = self.routes().get(key)
        if route is None:
            await self._send_error(exchange, request, HttpError(404, message=f"No route for {request.path}"))
            return
        await route(exchange, request)

    async def answer(self, exchange: Exchange, request: RecordedRequest) -> None:
        """The model endpoint flow: refuse what the upstream would refuse, else play the script."""
        refusal = self.refuse(request)
        behaviour = refusal if refusal is not None else self._next_behaviour(request)
        if isinstance(behaviour, HttpError):
            await self._send_error(exchange, request, behaviour)
        elif isinstance(behaviour, ConnectionReset):
            exchange.reset()
        elif isinstance(behaviour, Hang):
            if behaviour.after_headers:
                streaming = self.is_streaming(request)
                content_type = self.stream_content_type if streaming else "application/json"
                await exchange.start_stream(content_type, self.response_headers(request))
            await exchange.wait(behaviour.seconds)
            exchange.close()
        elif not self.is_streaming(request):
            await self._complete(exchange, request, behaviour)
        else:
            await play_stream(
                exchange,
                self.stream_frames(behaviour, request),
                behaviour,
                content_type=self.stream_content_type,
                headers=self.response_headers(request),
                malformed=self.malformed_frame(),
                error_frame=self.stream_error_frame(),
            )

    async def _complete(self, exchange: Exchange, request: RecordedRequest, reply: Reply) -> None:
        if reply.fault is not None and reply.fault.kind == "error_event":
            # What an in-stream overload is when there is no stream: the HTTP error.
            await self._send_error(exchange, request, overloaded())
            return
        body = json.dumps(self.complete_body(reply, request)).encode()
        await play_complete(
            exchange,
            body,
            reply,
            content_type="application/json",
            headers=self.response_headers(request),
            chunk_count=len(reply.text_chunks(request)) + len(reply.tool_calls),
        )

    async def _send_error(self, exchange: Exchange, request: RecordedRequest, error: HttpError) -> None:
        response = self.error_response(error, request)
        headers = dict(response.headers)
        if error.retry_after is not None:
            headers["retry-after"] = f"{error.retry_after:g}"
        if error.retry_after_ms is not None:
            headers["retry-after-ms"] = str(error.retry_after_ms)
        headers.update(error.headers)
        body = error.body.encode() if error.body is not None else response.body
        await exchange.send(response.status, body, response.content_type, headers)

    async def send_json(self, exchange: Exchange, payload: object, status: int = 200) -> None:
        await exchange.send(status, json.dumps(payload).encode(), "application/json")

    # ------------------------------------------------------------ provider hooks

    @abc.abstractmethod
    def routes(self) -> dict[tuple[str, str], Route]: ...

    def refuse(self, request: RecordedRequest) -> HttpError | None:
        """The error the upstream gives this request whatever the script says (bad key, ...)."""
        return None

    def is_streaming(self, request: RecordedRequest) -> bool:
        return isinstance(request.json, dict) and request.json.get("stream") is True

    stream_content_type: ClassVar[str] = "text/event-stream"

    def response_headers(self, request: RecordedRequest) -> dict[str, str]:
        return {}

    @abc.abstractmethod
    def stream_frames(self, reply: Reply, request: RecordedRequest) -> list[Frame]: ...

    @abc.abstractmethod
    def complete_body(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]: ...

    @abc.abstractmethod
    def error_response(self, error: HttpError, request: RecordedRequest) -> ErrorResponse: ...

    @abc.abstractmethod
    def malformed_frame(self) -> bytes: ...

    @abc.abstractmethod
    def stream_error_frame(self) -> bytes: ...
