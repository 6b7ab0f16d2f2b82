"""The SQLite schema and its migrations.

The schema version is ``PRAGMA user_version``: the number of migrations applied. A file at any
earlier version (0 is an empty file) is brought forward by running the missing migrations in
order, each in its own transaction, so a crash mid-upgrade leaves a file at a known version.
Never edit a released migration: append a new one. The schema is documented in docs/store.md.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable

from trooper.store.records import plain_text

Migration = Callable[[sqlite3.Connection], None]


def _v1_core_tables(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript() would commit the migration's transaction early.
    for statement in _V1_SQL.split(";"):
        if statement.strip():
            conn.execute(statement)


_V1_SQL = """
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            source        TEXT NOT NULL,
            route         TEXT NOT NULL,
            title         TEXT NOT NULL DEFAULT '',
            created_at    REAL NOT NULL,
            last_activity REAL NOT NULL
        );
        CREATE TABLE turns (
            session_id TEXT    NOT NULL,
            branch     INTEGER NOT NULL,
            seq        INTEGER NOT NULL,
            role       TEXT    NOT NULL,
            content    TEXT    NOT NULL,  -- JSON list of canonical content blocks
            provider   TEXT    NOT NULL DEFAULT '',
            model      TEXT    NOT NULL DEFAULT '',
            tokens_in  INTEGER NOT NULL DEFAULT 0,
            tokens_out INTEGER NOT NULL DEFAULT 0,
            latency_ms REAL    NOT NULL DEFAULT 0,
            created_at REAL    NOT NULL,
            PRIMARY KEY (session_id, branch, seq)
        );
        CREATE TABLE attempts (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id     TEXT    NOT NULL,
            provider       TEXT    NOT NULL,
            model          TEXT    NOT NULL,
            status         INTEGER NOT NULL,
            trigger        TEXT    NOT NULL,
            outcome        TEXT    NOT NULL,
            error_class    TEXT    NOT NULL DEFAULT '',
            connect_ms     REAL,
            first_token_ms REAL,
            total_ms       REAL,
            tokens_in      INTEGER NOT NULL DEFAULT 0,
            tokens_out     INTEGER NOT NULL DEFAULT 0,
            created_at     REAL    NOT NULL
        );
        CREATE INDEX attempts_by_session ON attempts (session_id, created_at);
        CREATE TABLE events (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            kind       TEXT NOT NULL,
            detail     TEXT NOT NULL,  -- JSON object
            created_at REAL NOT NULL
        );
        CREATE INDEX events_by_session ON events (session_id, created_at);
        CREATE TABLE sitreps (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT    NOT NULL,
            sitrep     TEXT    NOT NULL,  -- JSON object
            turn_count INTEGER NOT NULL DEFAULT 0,
            created_at REAL    NOT NULL
        );
        CREATE INDEX sitreps_by_session ON sitreps (session_id, created_at);
        """


def _v2_turn_text_and_activity_index(conn: sqlite3.Connection) -> None:
    # The plain text of a turn is computed once at write time so DataFrames and search never
    # parse every turn's JSON; existing turns are backfilled with the same rule.
    conn.execute("ALTER TABLE turns ADD COLUMN text TEXT NOT NULL DEFAULT ''")
    rows = conn.execute("SELECT session_id, branch, seq, content FROM turns").fetchall()
    conn.executemany(
        "UPDATE turns SET text = ? WHERE session_id = ? AND branch = ? AND seq = ?",
        [(plain_text(json.loads(content)), sid, branch, seq) for sid, branch, seq, content in rows],
    )
    # The session list is ordered and filtered (?since=) by last activity.
    conn.execute("CREATE INDEX sessions_by_activity ON sessions (last_activity)")


def _v3_cached_tokens(conn: sqlite3.Connection) -> None:
    # Prompt tokens the provider read from its cache for this answer (not in tokens_in).
    conn.execute("ALTER TABLE turns ADD COLUMN tokens_cached INTEGER NOT NULL DEFAULT 0")


def _v4_tokens_saved_per_turn(conn: sqlite3.Connection) -> None:
    # What an answer saved is decided when it is recorded (``tokens_saved_by``): only then is it
    # known whether a cloud was configured. Older turns are left at 0: that was not recorded, and
    # a figure that cannot be shown true is not claimed.
    conn.execute("ALTER TABLE turns ADD COLUMN tokens_saved INTEGER NOT NULL DEFAULT 0")


def _v5_stop_reason(conn: sqlite3.Connection) -> None:
    # Why an answer ended, so a page can say it was cut at the token limit; '' for older turns.
    conn.execute("ALTER TABLE turns ADD COLUMN stop_reason TEXT NOT NULL DEFAULT ''")


def _v6_session_client(conn: sqlite3.Connection) -> None:
    # The client a session came from (identity.client_name), so sessions can be told apart and
    # filtered; older sessions have '' and are shown by their source.
    conn.execute("ALTER TABLE sessions ADD COLUMN client TEXT NOT NULL DEFAULT ''")


def _v7_turn_tier(conn: sqlite3.Connection) -> None:
    # The tier of the provider that answered, recorded with the answer, so nothing needs a list of
    # which provider names are local. Older answers get the tier their provider had then: these
    # four names were the local ones when this migration was written.
    conn.execute("ALTER TABLE turns ADD COLUMN tier TEXT NOT NULL DEFAULT ''")
    conn.execute(
        "UPDATE turns SET tier = CASE WHEN provider IN ('ollama', 'embedded', 'local-openai', 'ollama-escalation') "
        "THEN 'local' ELSE 'cloud' END WHERE provider != ''"
    )


def _v8_session_tree(conn: sqlite3.Connection) -> None:
    # A subagent's session names the session it works for; a root session has none (NULL).
    conn.execute("ALTER TABLE sessions ADD COLUMN parent_id TEXT")
    # A named session's opening (digests of its main conversation's system prompt and first user
    # turn): a request under the same name that opens another conversation is a subagent's.
    conn.execute("ALTER TABLE sessions ADD COLUMN opening TEXT NOT NULL DEFAULT ''")


def _v9_responses(conn: sqlite3.Connection) -> None:
    # Responses API responses by id, each with the turn that holds its answer: previous_response_id
    # continues that conversation, GET /v1/responses/{id} returns the body. No index by session: a
    # turn's commit waits for this row, and only pruning (at start-up) looks rows up by session.
    conn.execute(
        "CREATE TABLE responses (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, branch INTEGER NOT NULL, "
        "seq INTEGER NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL)"
    )


def _v10_turn_costs(conn: sqlite3.Connection) -> None:
    # Dollars an answer cost and avoided, priced when it is recorded (``savings_of``); NULL when
    # its model had no price. Older turns are 0, as with tokens_saved: not known, not claimed.
    conn.execute("ALTER TABLE turns ADD COLUMN cost_spent REAL DEFAULT 0")
    conn.execute("ALTER TABLE turns ADD COLUMN cost_avoided REAL DEFAULT 0")


def _v11_message_threads(conn: sqlite3.Connection) -> None:
    # Claude's message threads Trooper holds: a threaded answer's id and the turn holding it, so a
    # thread goes on after a restart and on another replica.
    conn.execute(
        "CREATE TABLE message_threads (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, branch INTEGER NOT NULL, "
        "seq INTEGER NOT NULL, created_at REAL NOT NULL)"
    )


def _v12_compactions(conn: sqlite3.Connection) -> None:
    # The sessions answers compacted, by their compaction's key: a resent history opening with it
    # continues that session after a restart and on another replica.
    conn.execute("CREATE TABLE compactions (key TEXT PRIMARY KEY, session_id TEXT NOT NULL, created_at REAL NOT NULL)")


MIGRATIONS: list[Migration] = [
    _v1_core_tables, _v2_turn_text_and_activity_index, _v3_cached_tokens, _v4_tokens_saved_per_turn, _v5_stop_reason,
    _v6_session_client, _v7_turn_tier, _v8_session_tree, _v9_responses, _v10_turn_costs, _v11_message_threads, _v12_compactions,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: list[Migration] = MIGRATIONS) -> int:
    """Bring the file up to ``len(migrations)``; returns the version it was at.

    ``conn`` must be in autocommit mode (``isolation_level=None``). A file newer than this code
    is refused rather than written with an older idea of the schema.
    """
    # BEGIN IMMEDIATE takes the write lock before reading the version, so two processes opening
    # the same old file do not both run a migration.
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)
        if found > len(migrations):
            raise RuntimeError(
                f"the store file is at schema version {found}, newer than this Trooper ({len(migrations)}); upgrade Trooper"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for version in range(found, len(migrations)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) == version:  # another process may have got here first
                migrations[version](conn)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found
