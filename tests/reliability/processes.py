"""Real processes for restart tests: a fake upstream (``python -m tests.fakes``) and ``python -m trooper serve``
(``tests.processes.TrooperProcess``, with this package's settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakes.remote import RemoteFake
from tests.processes import TrooperProcess

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


def trooper_serve(db: Path, claude_url: str, **settings: str) -> TrooperProcess:
    """``python -m trooper serve`` with its store in ``db``, Claude pointed at a fake and no local
    tier (``settings``: more environment variables, or ones to override these)."""
    home = db.parent / "home"
    home.mkdir(exist_ok=True)
    env = {
        "CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": claude_url, "TROOPER_DB": str(db),
        "TROOPER_EMBEDDED": "false", "FALLBACK_URL": "http://127.0.0.1:9/api/chat", "TROOPER_RETRY_BACKOFF": "0.05",
        "TROOPER_ENV_FILE": "", "TROOPER_KEYS_FILE": "",  # no developer's .env or saved keys
        **settings,
    }
    return TrooperProcess(env, home)
