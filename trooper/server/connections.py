"""The server's own connections: a cap, a deadline for request headers, and accepting that
survives running out of file descriptors.

A thousand clients that open a connection and trickle their headers should not take Trooper
down, with or without a token:

- the soft ``RLIMIT_NOFILE`` is raised to the hard limit at start (``raise_open_file_limit``);
- open connections are capped below that limit. At the cap, a new connection evicts the oldest
  one still waiting for its first request's headers (a real client sends them at once, a slow
  attacker never does); when none is waiting, the newcomer gets a plain ``503`` and is closed;
- a connection's first request must bring its headers within ``HEADER_TIMEOUT`` seconds, not the
  keep-alive idle timeout (Tornado uses one timeout for both);
- when ``accept`` fails with ``EMFILE``/``ENFILE`` anyway (descriptors held elsewhere), accepting
  pauses briefly and one line is logged per interval, instead of a traceback per attempt.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable

import tornado.httpserver
import tornado.httputil
from tornado.http1connection import HTTP1ServerConnection
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

from trooper.server.request_heads import AnsweringIOStream

log = logging.getLogger("trooper.connections")

HEADER_TIMEOUT = 15.0
#: Descriptors kept for everything but client connections: upstream clients, the store, logs.
FD_RESERVE = 64
MAX_CONNECTIONS = 4096
#: How long accepting pauses after EMFILE, and how often such a pause is logged at most.
ACCEPT_PAUSE = 0.5
LOG_INTERVAL = 10.0
#: Connections accepted per readiness event, as Tornado does (its listen backlog).
ACCEPT_BATCH = 128
REFUSAL = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard one; the soft limit in force after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


def connection_cap(open_file_limit: int) -> int:
    """Connections served at once: under the open-file limit, with room for everything else."""
    if open_file_limit == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, open_file_limit - FD_RESERVE))


class _HeadersSeen(tornado.httputil.HTTPMessageDelegate):
    """Passes a request through, telling the server when its headers have arrived."""

    def __init__(self, delegate: tornado.httputil.HTTPMessageDelegate, arrived: Callable[[], None]) -> None:
        self.delegate = delegate
        self.arrived = arrived

    def headers_received(self, start_line: Any, headers: tornado.httputil.HTTPHeaders) -> Any:
        self.arrived()
        return self.delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.delegate.data_received(chunk)

    def finish(self) -> None:
        self.delegate.finish()

    def on_connection_close(self) -> None:
        self.delegate.on_connection_close()


class GuardedHTTPServer(tornado.httpserver.HTTPServer):
    """Tornado's HTTP server with the guards above; ``guard`` sets them after construction."""

    max_connections = MAX_CONNECTIONS
    header_timeout = HEADER_TIMEOUT

    def guard(self, max_connections: int, header_timeout: float = HEADER_TIMEOUT) -> None:
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        #: Connections whose first request's headers have not arrived, oldest first, with their deadline.
        self._waiting: OrderedDict[HTTP1ServerConnection, Any] = OrderedDict()
        self.evicted = 0
        self.refused = 0
        self._paused: dict[int, bool] = {}
        self._last_log = 0.0
        self._unlogged = 0

    # ------------------------------------------------------------ connections

    def handle_stream(self, stream: IOStream, address: tuple) -> None:
        if len(self._connections) >= self.max_connections and not self._evict_one():
            self.refused += 1
            self._note("connection limit (%d) reached: refusing new connections", self.max_connections)
            stream.write(REFUSAL).add_done_callback(lambda _: stream.close())
            return
        # What HTTPServer.handle_stream does, keeping hold of the connection it makes.
        context = tornado.httpserver._HTTPRequestContext(stream, address, self.protocol, self.trusted_downstream)
        conn = HTTP1ServerConnection(stream, self.conn_params, context)
        self._connections.add(conn)
        self._waiting[conn] = IOLoop.current().call_later(self.header_timeout, stream.close)
        conn.start_serving(self)

    def _evict_one(self) -> bool:
        """Close the oldest connection still waiting for headers; False when none is waiting."""
        while self._waiting:
            conn, deadline = self._waiting.popitem(last=False)
            IOLoop.current().remove_timeout(deadline)
            if not conn.stream.closed():
                conn.stream.close()
                self.evicted += 1
                return True
        return False

    def _headers_arrived(self, conn: HTTP1ServerConnection) -> None:
        deadline = self._waiting.pop(conn, None)
        if deadline is not None:
            IOLoop.current().remove_timeout(deadline)

    def start_request(self, server_conn: object, request_conn: tornado.httputil.HTTPConnection) -> tornado.httputil.HTTPMessageDelegate:
        delegate = super().start_request(server_conn, request_conn)
        if server_conn in self._waiting:
            # Tornado types server_conn as object; it is the HTTP1ServerConnection handle_stream made.
            return _HeadersSeen(delegate, lambda: self._headers_arrived(server_conn))  # type: ignore[arg-type]
        return delegate

    def on_close(self, server_conn: object) -> None:
        self._headers_arrived(server_conn)  # type: ignore[arg-type]  # an HTTP1ServerConnection, as above
        super().on_close(server_conn)

    # ------------------------------------------------------------ accepting

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_on(sock)

    def _accept_on(self, sock: socket.socket) -> Callable[[], None]:
        """Accept connections on ``sock`` (Tornado's accept loop, which raises on EMFILE and is
        called again at once, filling the log); returns what stops it."""
        io_loop = IOLoop.current()
        fd = sock.fileno()
        self._paused[fd] = False
        stopped = [False]

        def accept(_: Any, __: int) -> None:
            for _attempt in range(ACCEPT_BATCH):
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.EMFILE, errno.ENFILE):
                        raise
                    self._note("out of file descriptors (%s): accepting paused", errno.errorcode[exc.errno])
                    io_loop.remove_handler(sock)
                    self._paused[fd] = True
                    io_loop.call_later(ACCEPT_PAUSE, resume)
                    return
                self._serve(connection, address)

        def resume() -> None:
            if not stopped[0] and self._paused.get(fd):
                self._paused[fd] = False
                io_loop.add_handler(sock, accept, IOLoop.READ)

        def stop() -> None:
            stopped[0] = True
            if not self._paused.get(fd):
                io_loop.remove_handler(sock)

        io_loop.add_handler(sock, accept, IOLoop.READ)
        return stop

    def _serve(self, connection: socket.socket, address: Any) -> None:
        """What Tornado's ``_handle_connection`` does for a plain (non-TLS) socket, with a stream
        that answers request heads the parser refuses (``trooper.server.request_heads``)."""
        stream = AnsweringIOStream(connection, max_buffer_size=self.max_buffer_size, read_chunk_size=self.read_chunk_size)
        self.handle_stream(stream, address)

    def _note(self, message: str, *args: Any) -> None:
        """Log ``message`` once per ``LOG_INTERVAL``, with how many were left unsaid since."""
        now = time.monotonic()
        if now - self._last_log < LOG_INTERVAL:
            self._unlogged += 1
            return
        suffix = f" ({self._unlogged} more since the last such line)" if self._unlogged else ""
        log.warning(message + suffix, *args)
        self._last_log, self._unlogged = now, 0
