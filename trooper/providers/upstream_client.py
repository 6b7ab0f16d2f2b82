"""The aiohttp client every upstream call goes through, and the failures it can raise.

One ``aiohttp.ClientSession`` per running server (created on its event loop, closed on stop)
pools keep-alive connections to every upstream. aiohttp costs about a quarter of httpx's CPU per
request on the proxy's event loop (see bench/README.md, "Proxy overhead").
"""

from __future__ import annotations

import asyncio

import aiohttp

#: Connections open at once, across all upstreams.
MAX_CONNECTIONS = 200
#: An idle keep-alive connection is closed after this long.
KEEPALIVE_SECONDS = 30.0

#: What a failed exchange raises besides a timeout: aiohttp's errors and the socket errors
#: (refused, reset) that reach the caller unwrapped. Catch ``asyncio.TimeoutError`` first: since
#: Python 3.11 it is an ``OSError`` too.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (aiohttp.ClientError, OSError)
#: Everything a failed exchange raises, a timeout included.
FAILED_EXCHANGE: tuple[type[Exception], ...] = (asyncio.TimeoutError, *TRANSPORT_ERRORS)


def open_upstream_client(*, connect_timeout: float, total_timeout: float) -> aiohttp.ClientSession:
    """A pooled client; call it from a coroutine (the session binds to the running loop).

    The timeouts are defaults: each call passes its own (see ``trooper.providers.http``).
    """
    connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS)
    return _client(connector, aiohttp.ClientTimeout(total=total_timeout, connect=connect_timeout))


def open_single_use_client() -> aiohttp.ClientSession:
    """A client for one call over a connection opened for it and closed after it.

    A retry goes through one: when a pooled connection was dropped, its idle siblings to the same
    upstream may be just as stale. Each call passes its own timeouts.
    """
    return _client(aiohttp.TCPConnector(force_close=True), aiohttp.ClientTimeout())


def _client(connector: aiohttp.TCPConnector, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        trust_env=False,  # no proxy variables or .netrc: Trooper talks to the URLs it is given
        # One client serves every caller: a cookie an upstream sets for one caller's turn must not
        # travel with the next caller's (and keeping none saves a jar look-up per request).
        cookie_jar=aiohttp.DummyCookieJar(),
    )
