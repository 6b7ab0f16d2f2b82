"""The least a Python proxy hop can do: a reference for bench/proxy_floor.py, not part of Trooper.

Run: python bench/minimal_proxy.py {aiohttp|tornado} UPSTREAM_URL

It parses the caller's JSON body, sends it on to ``UPSTREAM_URL`` through one pooled aiohttp
session (Trooper's upstream client), parses the answer and writes it back as JSON: the two HTTP
exchanges and the two JSON round trips any translating proxy pays, nothing else (no routing,
sessions, store or headers). ``aiohttp`` serves with aiohttp's server, ``tornado`` with Tornado
(Trooper's server); both on uvloop, like ``trooper serve``. Prints ``listening on URL`` once ready.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import Any

import aiohttp
import tornado.httpserver
import tornado.web
import uvloop
from aiohttp import web

UPSTREAM_HEADERS = {"content-type": "application/json", "x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}


async def forward(session: aiohttp.ClientSession, upstream: str, raw: bytes) -> bytes:
    body: dict[str, Any] = json.loads(raw)
    async with session.post(upstream, data=json.dumps(body), headers=UPSTREAM_HEADERS) as response:
        answer = json.loads(await response.read())
    return json.dumps(answer).encode()


def listening_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve_aiohttp(upstream: str) -> None:
    session = aiohttp.ClientSession()

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=await forward(session, upstream, await request.read()), content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/messages", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = listening_socket()
    await web.SockSite(runner, sock).start()
    announce(sock)
    await asyncio.Event().wait()


async def serve_tornado(upstream: str) -> None:
    session = aiohttp.ClientSession()

    class Handler(tornado.web.RequestHandler):
        async def post(self) -> None:
            answer = await forward(session, upstream, self.request.body)
            self.set_header("Content-Type", "application/json")
            self.finish(answer)

    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/v1/messages", Handler)]))
    sock = listening_socket()
    server.add_sockets([sock])
    announce(sock)
    await asyncio.Event().wait()


def announce(sock: socket.socket) -> None:
    host, port = sock.getsockname()
    print(f"listening on http://{host}:{port}", flush=True)


def main() -> None:
    kind, upstream = sys.argv[1], sys.argv[2]
    serve = {"aiohttp": serve_aiohttp, "tornado": serve_tornado}[kind]
    uvloop.run(serve(upstream))


if __name__ == "__main__":
    main()
