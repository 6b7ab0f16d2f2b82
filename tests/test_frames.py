"""trooper.notebook.dataframes (``trooper.sessions()``, ``trooper.turns()``…): the documented schemas, from a store file and from a running server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application

import trooper.notebook.dataframes as tf
from tests.store.sample import T0, record_sample
from trooper.config import Settings
from trooper.server.sessions_api import ROUTES
from trooper.server.state import AppState
from trooper.store import open_store
from trooper.store.records import SessionRecord

UTC = "datetime64[ns, UTC]"
EXPECTED = {
    "sessions": {
        "session_id": "str", "parent_id": "str", "source": "category", "client": "category", "route": "category",
        "title": "str", "created_at": UTC, "last_activity": UTC, "intent": "str", "first_words": "str", "branch": "int64",
        "turn_count": "int64", "providers": "object",
        "tokens_saved": "int64", "cost_spent": "float64", "cost_avoided": "float64", "unpriced_turns": "int64",
        "escalations": "int64", "fallbacks": "int64", "private": "str",
    },
    "turns": {
        "session_id": "str", "branch": "int64", "seq": "int64", "role": "category", "provider": "category",
        "model": "category", "text": "str", "content_json": "str", "tokens_in": "int64", "tokens_out": "int64", "tokens_cached": "int64",
        "tokens_saved": "int64", "cost_spent": "float64", "cost_avoided": "float64", "stop_reason": "category",
        "tier": "category", "latency_ms": "float64", "created_at": UTC,
    },
    "attempts": {
        "id": "int64", "session_id": "str", "provider": "category", "model": "category", "status": "int64",
        "trigger": "category", "outcome": "category", "error_class": "category", "connect_ms": "float64",
        "first_token_ms": "float64", "total_ms": "float64", "tokens_in": "int64", "tokens_out": "int64",
        "created_at": UTC,
    },
    "events": {"id": "int64", "session_id": "str", "kind": "category", "detail": "object", "created_at": UTC},
    "sitreps": {
        "id": "int64", "session_id": "str", "intent": "str", "turn_count": "int64", "sitrep": "object", "created_at": UTC,
    },
}
READERS = {"sessions": tf.sessions, "turns": tf.turns, "attempts": tf.attempts, "events": tf.events, "sitreps": tf.sitreps}


def assert_schema(frame: pd.DataFrame, name: str) -> None:
    assert list(frame.columns) == list(EXPECTED[name])
    for column, dtype in EXPECTED[name].items():
        assert str(frame[column].dtype) == dtype, column


def write_store(path: Path, fill: bool = True) -> None:
    async def write() -> None:
        store = open_store(Settings(db_path=str(path)))
        if fill:
            record_sample(store)
        await store.close()

    asyncio.run(write())


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "trooper.db"
    write_store(path)
    return path


@pytest.fixture
def server_url(store_path: Path) -> Iterator[str]:
    """A real Tornado server with the sessions API, on its own thread: frames block on HTTP."""
    ready = threading.Event()
    running: dict[str, object] = {}

    async def serve() -> None:
        store = open_store(Settings(db_path=str(store_path)))
        sock, port = bind_unused_port()
        server = HTTPServer(Application(ROUTES, trooper_state=AppState(Settings(), store)))
        server.add_sockets([sock])
        stop = asyncio.Event()
        running.update(port=port, stop=stop, loop=asyncio.get_running_loop())
        ready.set()
        await stop.wait()
        server.stop()
        await store.close()

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{running['port']}"
    running["loop"].call_soon_threadsafe(running["stop"].set)  # type: ignore[attr-defined]
    thread.join(10)


@pytest.fixture(autouse=True)
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tf, "_source", None)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_schema_from_a_store_file(store_path: Path, name: str) -> None:
    tf.connect(store_path)
    assert_schema(READERS[name](), name)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_schema_of_an_empty_store(tmp_path: Path, name: str) -> None:
    write_store(tmp_path / "empty.db", fill=False)
    tf.connect(tmp_path / "empty.db")
    frame = READERS[name]()
    assert frame.empty
    assert_schema(frame, name)


def test_values(store_path: Path) -> None:
    tf.connect(str(store_path))
    turns = tf.turns("alpha")
    assert turns["created_at"].iloc[0] == pd.Timestamp(T0 + 1, unit="s", tz="UTC")
    assert list(turns["role"].cat.categories) == ["system", "user", "assistant", "tool"]
    assert turns["provider"].isna().tolist() == [True, False, True, False]  # users have no provider
    assert json.loads(turns["content_json"].iloc[1]) == [{"type": "text", "text": "hi there"}]
    sessions = tf.sessions().set_index("session_id")
    assert sessions.loc["alpha", "providers"] == {"ollama": 1, "claude": 1}
    assert sessions.loc["alpha", "tokens_saved"] == 15
    assert pd.isna(sessions.loc["beta/é?&<x>", "intent"])
    attempts = tf.attempts()
    assert attempts["error_class"].isna().tolist() == [True, False, True]
    assert pd.isna(attempts["first_token_ms"].iloc[1])
    assert tf.sitreps("alpha")["sitrep"].iloc[-1]["open_loops"] == ["checkpointing"]
    assert tf.events("nobody").empty


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("page_rows", [2, 5000], ids=["paged", "one-page"])
def test_a_server_gives_the_same_frames_as_the_file(store_path: Path, server_url: str, name: str, page_rows: int,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tf, "PAGE_ROWS", page_rows)  # several pages of two rows: gathered transparently
    tf.connect(store_path)
    from_file = READERS[name]()
    tf.connect(server_url)
    from_server = READERS[name]()
    assert_schema(from_server, name)
    pd.testing.assert_frame_equal(from_server, from_file, check_categorical=False)


def test_sessions_name_their_parent(store_path: Path, server_url: str) -> None:
    async def add_a_child() -> None:
        store = open_store(Settings(db_path=str(store_path)))  # the server reads the same file
        store.upsert_session(SessionRecord("sub-alpha-1", "anthropic", created_at=T0 + 6, parent_id="alpha"))
        await store.close()

    asyncio.run(add_a_child())
    for source in (store_path, server_url):
        tf.connect(source)
        parents = tf.sessions().set_index("session_id")["parent_id"]
        assert parents["sub-alpha-1"] == "alpha" and parents.drop("sub-alpha-1").isna().all(), "roots have none"


def test_a_session_filter_through_the_server(server_url: str) -> None:
    tf.connect(server_url + "/")
    assert tf.turns("beta/é?&<x>")["text"].tolist() == ["ping", "pong"]
    assert len(tf.attempts("alpha")) == 3


def test_without_connect_the_server_in_the_settings_is_used(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TROOPER_URL", raising=False)
    monkeypatch.setenv("TROOPER_PORT", server_url.rsplit(":", 1)[1])
    monkeypatch.setenv("TROOPER_BIND", "0.0.0.0")
    assert tf.sessions()["session_id"].tolist() == ["beta/é?&<x>", "alpha"]


def test_without_connect_trooper_url_wins(server_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROOPER_URL", server_url)
    monkeypatch.setenv("TROOPER_PORT", "1")
    assert len(tf.turns()) == 6


def test_a_missing_store_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Trooper store"):
        tf.connect(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_a_server_error_is_reported(server_url: str) -> None:
    tf.connect(server_url + "/nowhere")
    with pytest.raises(RuntimeError, match="answered 404"):
        tf.turns()
