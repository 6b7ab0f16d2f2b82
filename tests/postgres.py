"""A real PostgreSQL server for tests: Debian's ``initdb``/``pg_ctl`` in a temporary directory.

It runs as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root),
listens on a free port of 127.0.0.1 only, and asks for a password, as a deployment would. Each
test gets a database of its own (``PostgresServer.new_database``). When PostgreSQL is not
installed the fixture fails: ``make test`` installs it (the Makefile's ``postgres`` target).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from tests.net import free_port

USER = "trooper"
PASSWORD = "s3cret-pw"


def postgres_bin() -> Path:
    """The directory of Debian's PostgreSQL server programs (the newest version installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError("PostgreSQL is not installed: run `make postgres` (Debian's postgresql package)")


class PostgresServer:
    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="trooper-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        # PostgreSQL will not run as root: as root, the cluster belongs to the postgres user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        (self.root / "pw").write_text(PASSWORD)
        if self._as:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.root / "pw", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={self.root / 'pw'}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "start",
            "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200",
        )
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of an empty database of this test's own."""
    return postgres_server.new_database()
