"""Real processes for restart tests: a fake upstream (``python -m tests.fakes``) and ``python -m trooper serve``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.fakes.remote import RemoteFake
from tests.net import free_port

ROOT = Path(__file__).parents[2]
CLAUDE_KEY = "sk-ant-restart-configured-0123456789abcdef"


class FakeProcess:
    def __init__(self, kind: str, **default: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes", kind, "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=ROOT
        )
        assert self.process.stdout is not None
        self.remote = RemoteFake(self.process.stdout.readline().strip())
        if default:
            self.remote.set_default(**default)

    def stop(self) -> None:
        self.remote.close()
        self.process.terminate()
        self.process.wait(10)


class TrooperProcess:
    """``python -m trooper serve`` on a free port, with Claude pointed at a fake and no local tier
    (``settings``: more environment variables, or ones to override these)."""

    def __init__(self, db: Path, claude_url: str, port: int | None = None, **settings: str) -> None:
        self.port = port or free_port()
        env = {
            **os.environ, "CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": claude_url, "TROOPER_DB": str(db),
            "TROOPER_EMBEDDED": "false", "FALLBACK_URL": "http://127.0.0.1:9/api/chat", "TROOPER_RETRY_BACKOFF": "0.05",
            "TROOPER_ENV_FILE": "", "TROOPER_KEYS_FILE": "",  # no developer's .env or saved keys
            **settings,
        }
        self.log = db.with_suffix(f".{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trooper", "serve", "--port", str(self.port)], env=env, cwd=ROOT,
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"trooper did not start: {Path(self.log.name).read_text()}")

    def stop(self) -> None:
        """Stop it the way a service manager does (SIGTERM), if it still runs."""
        if self.process.poll() is None:
            self.process.terminate()
        self.wait(20)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self.log.close()
        return code
