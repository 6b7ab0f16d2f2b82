"""Session store: what the proxy records, behind a narrow interface (SQLite by default,
PostgreSQL when ``TROOPER_DB`` is a ``postgresql://`` URL)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from trooper.config import Settings
from trooper.store.base import Store, StoreUnavailable, StoreWriteError
from trooper.store.sqlite import SqliteStore


def is_postgres_url(db: str) -> bool:
    """Whether a ``TROOPER_DB`` value names a PostgreSQL database rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))


def store_label(db: str) -> str:
    """What ``TROOPER_DB`` names, to show: a SQLite path as it is, a PostgreSQL URL as
    ``PostgreSQL user@host:port/database`` (never its password)."""
    if not is_postgres_url(db):
        return db
    parts = urlsplit(db)
    user = f"{unquote(parts.username)}@" if parts.username else ""
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    return f"PostgreSQL {user}{where}{parts.path or '/'}"


def open_store(settings: Settings) -> Store:
    """The store ``settings.db_path`` names: a PostgreSQL URL, or a SQLite file (``:memory:`` for
    a throwaway one)."""
    if is_postgres_url(settings.db_path):
        # Imported only here: psycopg is the optional ``postgres`` extra.
        try:
            from trooper.store.postgres import PostgresStore
        except ImportError:
            raise StoreUnavailable("psycopg is not installed: pip install 'trooper[postgres]'") from None

        return PostgresStore(settings.db_path)
    path = settings.db_path if settings.db_path == ":memory:" else str(Path(settings.db_path).expanduser())
    return SqliteStore(path)


__all__ = ["SqliteStore", "Store", "StoreUnavailable", "StoreWriteError", "is_postgres_url", "open_store", "store_label"]
