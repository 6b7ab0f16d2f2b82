"""The sessions JSON API and the live feed, on a real Tornado server with a real store."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application

from tests.store.sample import T0, record_sample
from trooper.config import Settings
from trooper.server import sessions_api
from trooper.server.state import AppState
from trooper.store import open_store
from trooper.store.frames import SCHEMAS, build_frame
from trooper.store.records import SessionRecord, TurnRecord

BETA = "beta/é?&<x>"


class QuickLiveHandler(sessions_api.LiveHandler):
    heartbeat = 0.2
    write_timeout = 0.5


@pytest.fixture
async def state() -> AsyncIterator[AppState]:
    store = open_store(Settings(db_path=":memory:"))
    record_sample(store)
    await store.flush()
    yield AppState(Settings(), store)
    await store.close()


@pytest.fixture
async def client(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    routes = [*sessions_api.ROUTES, (r"/quick-live", QuickLiveHandler)]
    sock, port = bind_unused_port()
    server = HTTPServer(Application(routes, trooper_state=state))
    server.add_sockets([sock])
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client
    server.stop()


def session_url(session_id: str, tail: str = "") -> str:
    return f"/sessions/{quote(session_id, safe='')}{tail}"


def table(response: httpx.Response) -> pd.DataFrame:
    assert response.status_code == 200, response.text
    return pd.read_json(io.StringIO(response.text), orient="table")


async def test_session_list(client: httpx.AsyncClient) -> None:
    body = (await client.get("/sessions")).json()
    assert (body["limit"], body["offset"]) == (50, 0)
    assert [s["id"] for s in body["sessions"]] == [BETA, "alpha"]
    alpha = body["sessions"][1]
    assert alpha["intent"] == "learn about WAL" and alpha["providers"] == {"ollama": 1, "claude": 1}
    assert (alpha["tokens_saved"], alpha["escalations"], alpha["fallbacks"], alpha["turn_count"]) == (15, 1, 1, 4)


@pytest.mark.parametrize(
    "query, ids",
    [
        ("limit=1", [BETA]),
        ("limit=1&offset=1", ["alpha"]),
        ("offset=2", []),
        (f"since={T0 + 50}", [BETA]),
        ("since=2026-01-01T00:01:00Z", [BETA]),
        ("since=2026-01-01T00:00:00", [BETA, "alpha"]),
        ("since=2030-01-01", []),
    ],
)
async def test_paging_and_since(client: httpx.AsyncClient, query: str, ids: list[str]) -> None:
    assert [s["id"] for s in (await client.get(f"/sessions?{query}")).json()["sessions"]] == ids
    assert table(await client.get(f"/sessions?{query}&format=table"))["session_id"].tolist() == ids


@pytest.mark.parametrize(
    "path, mentions",
    [
        ("/sessions?limit=0", "limit"),
        ("/sessions?limit=all", "limit"),  # was the whole table in one answer: page with cursor
        ("/sessions?limit=5000", "limit"),
        ("/sessions?limit=ten", "limit"),
        ("/sessions?offset=-1", "offset"),
        ("/sessions?since=yesterday", "since"),
        ("/sessions?since=nan", "since"),
        ("/sessions?offset=" + "1" + "0" * 23, "offset"),  # past SQLite's integers: was a 500
        ("/sessions?format=table&since=1e300", "since"),  # past pandas' timestamps: was a 500
        ("/sessions?since=0001-01-01", "since"),
        ("/sessions?since=-5", "since"),
        ("/sessions?format=csv", "format"),
        ("/turns?format=xml", "format"),
        ("/sessions/alpha/transcript?branch=-1", "branch"),
    ],
)
async def test_bad_query_params_are_400(client: httpx.AsyncClient, path: str, mentions: str) -> None:
    response = await client.get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and mentions in error["message"]


@pytest.mark.parametrize("tail", ["", "/transcript", "/attempts", "/events", "/sitreps"])
async def test_unknown_session_is_404(client: httpx.AsyncClient, tail: str) -> None:
    response = await client.get(session_url("<script>alert(1)</script>", tail))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["type"] == "not_found_error"
    assert "script" not in response.text  # the id is not reflected


async def test_session_detail_with_an_awkward_id(client: httpx.AsyncClient) -> None:
    body = (await client.get(session_url(BETA))).json()
    assert body["id"] == BETA and body["sitrep"] is None
    body = (await client.get(session_url("alpha"))).json()
    assert body["sitrep"]["open_loops"] == ["checkpointing"]


async def test_transcript(client: httpx.AsyncClient) -> None:
    body = (await client.get(session_url(BETA, "/transcript"))).json()
    assert body["session_id"] == BETA
    assert [(t["role"], t["content"]) for t in body["turns"]] == [
        ("user", [{"type": "text", "text": "ping"}]),
        ("assistant", [{"type": "text", "text": "pong"}]),
    ]
    frame = table(await client.get(session_url(BETA, "/transcript?format=table")))
    assert frame["text"].tolist() == ["ping", "pong"] and str(frame["created_at"].dtype) == "datetime64[ns, UTC]"
    assert (await client.get(session_url(BETA, "/transcript?branch=0"))).json()["turns"] == body["turns"]


async def test_session_tables(client: httpx.AsyncClient) -> None:
    attempts = (await client.get(session_url("alpha", "/attempts"))).json()["attempts"]
    assert [a["trigger"] for a in attempts] == ["simple turn", "direct", "fallback: quota"]
    events = (await client.get(session_url("alpha", "/events"))).json()["events"]
    assert [e["kind"] for e in events] == ["fallback", "escalated"]
    sitreps = (await client.get(session_url("alpha", "/sitreps"))).json()["sitreps"]
    assert sitreps[-1]["sitrep"]["intent"] == "learn about WAL"
    assert (await client.get(session_url(BETA, "/attempts"))).json() == {"attempts": []}


async def test_all_session_tables_in_json(client: httpx.AsyncClient) -> None:
    turns = (await client.get("/turns")).json()["turns"]
    assert len(turns) == 6 and set(turns[0]) == set(SCHEMAS["turns"])
    only_beta = (await client.get("/turns", params={"session_id": BETA})).json()["turns"]
    assert [t["text"] for t in only_beta] == ["ping", "pong"]
    assert (await client.get("/events?session_id=nobody")).json() == {"events": [], "next_cursor": None}


@pytest.mark.parametrize("fmt", ["json", "table"])
async def test_tables_come_a_page_at_a_time(client: httpx.AsyncClient, fmt: str) -> None:
    """A 59k-turn read once stalled /health: every table is paged (limit, cursor)."""
    texts, cursor, pages = [], None, 0
    while True:
        params = {"limit": "4"} | ({"cursor": cursor} if cursor else {}) | ({"format": "table"} if fmt == "table" else {})
        response = await client.get("/turns", params=params)
        assert response.status_code == 200
        texts += table(response)["text"].tolist() if fmt == "table" else [t["text"] for t in response.json()["turns"]]
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
        if fmt == "json":
            assert response.json()["next_cursor"] == int(cursor)
    whole = [t["text"] for t in (await client.get("/turns", params={"limit": "100"})).json()["turns"]]
    assert pages == 2 and texts == whole and len(whole) == 6, "every row once, in order"
    assert (await client.get("/turns", params={"limit": "20000"})).status_code == 400


@pytest.mark.parametrize("fmt", ["json", "table"])
async def test_sessions_come_a_page_at_a_time_in_the_order_created(
    client: httpx.AsyncClient, state: AppState, fmt: str
) -> None:
    """A session that becomes active between two pages is neither skipped nor read twice."""
    for n in range(3):
        state.store.upsert_session(SessionRecord(f"s{n}", "openai", created_at=T0 + 200 + n))
    await state.store.flush()
    ids, cursor = [], "0"
    while cursor is not None:
        params = {"limit": "2", "cursor": cursor} | ({"format": "table"} if fmt == "table" else {})
        response = await client.get("/sessions", params=params)
        page = table(response)["session_id"].tolist() if fmt == "table" else [s["session_id"] for s in response.json()["sessions"]]
        ids += page
        if ids == ["alpha", BETA]:
            state.store.add_turns([TurnRecord("s2", 0, "user", [{"type": "text", "text": "now"}], created_at=T0 + 900)])
            await state.store.flush()
        cursor = response.headers.get("X-Next-Cursor")
    assert ids == ["alpha", BETA, "s0", "s1", "s2"]


@pytest.mark.parametrize("name", ["turns", "attempts", "events", "sitreps"])
async def test_table_format_keeps_dtypes(client: httpx.AsyncClient, state: AppState, name: str) -> None:
    frame = table(await client.get(f"/{name}?format=table"))
    assert list(frame.columns) == list(SCHEMAS[name])
    expected = build_frame(name, await state.store.table(name))
    pd.testing.assert_frame_equal(frame, expected)


async def test_live_events_deliver_a_published_update(client: httpx.AsyncClient, state: AppState) -> None:
    async with client.stream("GET", "/api/live") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await anext(lines) == ": connected"
        assert state.feed.subscriber_count == 1
        state.feed.publish({"type": "turn", "session_id": BETA, "text": "line\nbreak"})
        data = [line async for line in _until_data(lines)]
        assert json.loads(data[0].removeprefix("data: ")) == {"type": "turn", "session_id": BETA, "text": "line\nbreak"}
    for _ in range(50):  # the server notices the disconnect and unsubscribes
        if state.feed.subscriber_count == 0:
            break
        await asyncio.sleep(0.02)
    assert state.feed.subscriber_count == 0


async def test_live_events_send_a_tick_of_updates_in_one_write(client: httpx.AsyncClient, state: AppState) -> None:
    async with client.stream("GET", "/api/live") as response:
        chunks = response.aiter_text()
        assert await anext(chunks) == ": connected\n\n"
        state.feed.publish({"type": "turn", "session_id": "a"})
        state.feed.publish({"type": "attempt", "session_id": "a"})
        state.feed.publish({"type": "turn", "session_id": "a"})
        received = await anext(chunks)
    assert received == 'data: {"type": "turn", "session_id": "a"}\n\ndata: {"type": "attempt", "session_id": "a"}\n\n'


async def test_live_events_send_heartbeats(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/quick-live") as response:
        lines = response.aiter_lines()
        received = [await anext(lines) for _ in range(4)]
    assert received == [": connected", "", ": heartbeat", ""]


async def test_a_live_subscriber_that_never_reads_is_dropped(client: httpx.AsyncClient, state: AppState) -> None:
    port = int(str(client.base_url).rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /quick-live HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads a byte
    try:
        for _ in range(100):
            await asyncio.sleep(0.01)
            if state.feed.subscriber_count:
                break
        assert state.feed.subscriber_count == 1
        for round_ in range(400):  # ~40 MB of updates, more than any socket buffer holds
            state.feed.publish({"type": "turn", "session_id": f"{round_}-" + "x" * 100_000})
            await asyncio.sleep(0.005)
            if not state.feed.subscriber_count:
                break
        assert state.feed.subscriber_count == 0, "dropped once its writes stalled past the timeout"
    finally:
        sock.close()


async def _until_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    async for line in lines:
        if line.startswith("data: "):
            yield line
            return
