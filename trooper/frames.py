"""What Trooper recorded, as pandas DataFrames with a fixed schema (docs/dataframes.md).

    import trooper.frames as tf
    tf.connect("~/.trooper/trooper.db")      # or "http://127.0.0.1:3000"; default: the server in Settings
    tf.turns().groupby("provider", observed=True).tokens_out.sum()

Frames come from a store file (read through the ``Store`` interface) or from a running server
(its JSON API in pandas' JSON Table Schema, which keeps the dtypes). Either way the frame is built
by ``build_frame`` here: the server's ``?format=table`` answers use it too.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import httpx
import numpy as np
import pandas as pd

from trooper.config import Settings
from trooper.store import is_postgres_url, open_store
from trooper.store.base import Columns

UTC_TIME = "datetime64[ns, UTC]"
#: Categories fixed by the record types; other categoricals take the values present.
ROLES = pd.CategoricalDtype(["system", "user", "assistant", "tool"])

#: Column name -> dtype, in column order, for each frame.
SCHEMAS: dict[str, dict[str, Any]] = {
    "sessions": {
        "session_id": "str",
        "parent_id": "str",
        "source": "category",
        "client": "category",
        "route": "category",
        "title": "str",
        "created_at": UTC_TIME,
        "last_activity": UTC_TIME,
        "intent": "str",
        "first_words": "str",
        "branch": "int64",
        "turn_count": "int64",
        "providers": "object",
        "tokens_saved": "int64",
        "cost_spent": "float64",
        "cost_avoided": "float64",
        "unpriced_turns": "int64",
        "escalations": "int64",
        "fallbacks": "int64",
    },
    "turns": {
        "session_id": "str",
        "branch": "int64",
        "seq": "int64",
        "role": ROLES,
        "provider": "category",
        "model": "category",
        "text": "str",
        "content_json": "str",
        "tokens_in": "int64",
        "tokens_out": "int64",
        "tokens_cached": "int64",
        "tokens_saved": "int64",
        "cost_spent": "float64",
        "cost_avoided": "float64",
        "stop_reason": "category",
        "tier": "category",
        "latency_ms": "float64",
        "created_at": UTC_TIME,
    },
    "attempts": {
        "id": "int64",
        "session_id": "str",
        "provider": "category",
        "model": "category",
        "status": "int64",
        "trigger": "category",
        "outcome": "category",
        "error_class": "category",
        "connect_ms": "float64",
        "first_token_ms": "float64",
        "total_ms": "float64",
        "tokens_in": "int64",
        "tokens_out": "int64",
        "created_at": UTC_TIME,
    },
    "events": {
        "id": "int64",
        "session_id": "str",
        "kind": "category",
        "detail": "object",
        "created_at": UTC_TIME,
    },
    "clients": {
        "client": "category",
        "sessions": "int64",
        "tokens_saved": "int64",
        "cost_spent": "float64",
        "cost_avoided": "float64",
        "unpriced_turns": "int64",
    },
    "sitreps": {
        "id": "int64",
        "session_id": "str",
        "intent": "str",
        "turn_count": "int64",
        "sitrep": "object",
        "created_at": UTC_TIME,
    },
}

def build_frame(name: str, columns: Columns) -> pd.DataFrame:
    """The ``name`` frame (a key of ``SCHEMAS``) from the store's columns of that table.

    Categorical columns treat empty text as missing: a user turn has no provider, not provider "".
    """
    frame: dict[str, Any] = {}
    for column, dtype in SCHEMAS[name].items():
        values = columns[column]
        if dtype == UTC_TIME:
            seconds = np.asarray(values, dtype="float64")
            frame[column] = pd.to_datetime(seconds, unit="s", utc=True).astype(UTC_TIME)
        elif isinstance(dtype, pd.CategoricalDtype) or dtype == "category":
            fixed = dtype.categories if isinstance(dtype, pd.CategoricalDtype) else None
            categorical = pd.Categorical(values, categories=fixed)
            if "" in categorical.categories:
                categorical = categorical.remove_categories([""])
            frame[column] = categorical
        else:
            frame[column] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(frame)


def frame_to_table_json(frame: pd.DataFrame) -> str:
    """A frame as pandas' JSON Table Schema: ``pd.read_json(orient="table")`` gets the same dtypes back."""
    return frame.to_json(orient="table", index=False, date_unit="us", force_ascii=False)


# ---------------------------------------------------------------- where frames come from


class _Source(Protocol):
    def frame(self, name: str, session_id: str | None) -> pd.DataFrame: ...


class _StoreFile:
    """A store (a SQLite file, a PostgreSQL URL) read through the Store interface, on a private
    event loop in a worker thread so it also works inside Jupyter, whose own loop is already running."""

    def __init__(self, path: str) -> None:
        self.path = path

    def frame(self, name: str, session_id: str | None) -> pd.DataFrame:
        with ThreadPoolExecutor(1, thread_name_prefix="trooper-frames") as pool:
            columns = pool.submit(asyncio.run, self._table(name, session_id)).result()
        return build_frame(name, columns)

    async def _table(self, name: str, session_id: str | None) -> Columns:
        store = open_store(Settings(db_path=self.path))
        try:
            return await store.table(name, session_id)
        finally:
            await store.close()


#: Rows asked for per page when reading a table from a server.
PAGE_ROWS = 5000


class _Server:
    """A running Trooper server, read through its JSON API (tables a page at a time)."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def frame(self, name: str, session_id: str | None) -> pd.DataFrame:
        # Tables come a page at a time (the server encodes each on its event loop), as JSON rows
        # gathered into one set of columns: pages of categories would not concatenate cleanly.
        # Sessions page by cursor from 0, in the order they were created (so none is skipped while
        # sessions are active), and are then sorted most recently active first, as the store gives them.
        params = {"limit": str(PAGE_ROWS)} | ({"session_id": session_id} if session_id is not None else {})
        if name == "sessions":
            params["cursor"] = "0"
        columns: Columns = {}
        while True:
            response = self._get(name, params)
            for row in response.json()[name]:
                for column, value in row.items():
                    columns.setdefault(column, []).append(value)
            cursor = response.headers.get("X-Next-Cursor")
            if cursor is None:
                break
            params = {**params, "cursor": cursor}
        frame = build_frame(name, columns or {column: [] for column in SCHEMAS[name]})
        if name == "sessions":
            frame = frame.sort_values(["last_activity", "session_id"], ascending=[False, True], ignore_index=True)
        return frame

    def _get(self, name: str, params: dict[str, str]) -> httpx.Response:
        response = httpx.get(f"{self.url}/{name}", params=params, headers=self.headers, timeout=120.0)
        if response.is_error:
            raise RuntimeError(f"Trooper at {self.url} answered {response.status_code}: {response.text[:500]}")
        return response


_source: _Source | None = None


def connect(target: str | os.PathLike[str]) -> None:
    """Read frames from ``target``: a store file path, a PostgreSQL store's URL
    (``postgresql://…``), or a server URL (``http://127.0.0.1:3000``)."""
    global _source
    text = os.fspath(target)
    if text.startswith(("http://", "https://")):
        _source = _Server(text, Settings.from_env().token)
        return
    if is_postgres_url(text):
        _source = _StoreFile(text)
        return
    path = os.path.expanduser(text)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no Trooper store at {path}")
    _source = _StoreFile(path)


def _current() -> _Source:
    # Without connect(): the server the settings name (TROOPER_URL), else the local one they describe.
    if _source is None:
        settings = Settings.from_env()
        host = "127.0.0.1" if settings.bind in {"", "0.0.0.0", "::"} else settings.bind
        return _Server(settings.url or f"http://{host}:{settings.port}", settings.token)
    return _source


def sessions() -> pd.DataFrame:
    """One row per session, most recently active first."""
    return _current().frame("sessions", None)


def turns(session_id: str | None = None) -> pd.DataFrame:
    """Every recorded turn of every branch, in the order recorded."""
    return _current().frame("turns", session_id)


def attempts(session_id: str | None = None) -> pd.DataFrame:
    """Every upstream attempt, in the order they were made."""
    return _current().frame("attempts", session_id)


def events(session_id: str | None = None) -> pd.DataFrame:
    """Routing events (escalations, fallbacks, breaker changes...), in order."""
    return _current().frame("events", session_id)


def sitreps(session_id: str | None = None) -> pd.DataFrame:
    """Every SITREP recorded, in order; the last per session is its current one."""
    return _current().frame("sitreps", session_id)
