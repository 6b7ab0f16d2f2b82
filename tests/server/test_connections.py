"""The connection guards on a small real server: header deadline, eviction at the cap, a cheap 503."""

from __future__ import annotations

import asyncio
import socket

import tornado.web

from trooper.server.connections import GuardedHTTPServer, connection_cap


class Slow(tornado.web.RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(float(self.get_query_argument("hold", "0")))
        self.write("ok")


async def serve(max_connections: int, header_timeout: float) -> tuple[GuardedHTTPServer, int]:
    server = GuardedHTTPServer(tornado.web.Application([(r"/", Slow)]))
    server.guard(max_connections, header_timeout)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    server.add_sockets([sock])
    return server, sock.getsockname()[1]


async def partial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    return reader, writer


async def get(port: int, hold: float = 0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /?hold={hold} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


async def test_a_connection_without_headers_is_closed_at_the_deadline():
    server, port = await serve(8, header_timeout=0.3)
    reader, _ = await partial(port)
    assert await asyncio.wait_for(reader.read(), 2) == b"", "closed, nothing answered"
    assert (await get(port)).startswith(b"HTTP/1.1 200")
    server.stop()


async def test_at_the_cap_the_oldest_waiting_connection_makes_room():
    server, port = await serve(4, header_timeout=30)
    waiting = [await partial(port) for _ in range(4)]
    await asyncio.sleep(0.1)
    assert (await get(port)).startswith(b"HTTP/1.1 200"), "a normal request still gets in"
    assert await asyncio.wait_for(waiting[0][0].read(), 2) == b"", "the oldest slow one made room"
    assert server.evicted == 1 and server.refused == 0
    server.stop()


async def test_when_every_connection_is_busy_a_newcomer_gets_a_503():
    server, port = await serve(2, header_timeout=30)
    busy = [asyncio.create_task(get(port, hold=1.0)) for _ in range(2)]
    await asyncio.sleep(0.3)
    assert (await get(port)).startswith(b"HTTP/1.1 503")
    assert all(answer.startswith(b"HTTP/1.1 200") for answer in await asyncio.gather(*busy))
    assert server.refused == 1
    server.stop()


def test_the_cap_leaves_room_under_the_file_limit():
    assert connection_cap(256) == 192
    assert connection_cap(1_000_000) == 4096
    assert connection_cap(40) == 16
