"""Session store: what the proxy records, behind a narrow interface (SQLite by default)."""

from __future__ import annotations

from pathlib import Path

from trooper.config import Settings
from trooper.store.base import Store, StoreWriteError
from trooper.store.sqlite import SqliteStore


def open_store(settings: Settings) -> Store:
    """The store ``settings.db_path`` names (``:memory:`` for a throwaway one)."""
    path = settings.db_path if settings.db_path == ":memory:" else str(Path(settings.db_path).expanduser())
    return SqliteStore(path)


__all__ = ["SqliteStore", "Store", "StoreWriteError", "open_store"]
