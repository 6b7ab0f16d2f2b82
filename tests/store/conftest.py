"""The store suite runs against every store: SQLite in memory, a SQLite file, PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from trooper.config import Settings
from trooper.store import Store, open_store


def _db(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return ":memory:" if kind == "sqlite-memory" else str(tmp_path / "trooper.db")


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``TROOPER_DB`` value naming an empty store of each kind."""
    return _db(request.param, request, tmp_path)


@pytest.fixture(params=["sqlite-file", "postgresql"])
def durable_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``TROOPER_DB`` value of each kind that outlives the store that wrote it."""
    return _db(request.param, request, tmp_path)


@pytest.fixture
async def store(db: str) -> AsyncIterator[Store]:
    store = open_store(Settings(db_path=db))
    yield store
    await store.close()
