"""Finding the Trooper server a notebook talks to, and starting one when there is none.

One Trooper per machine: kernels, the Jupyter proxy and agents share it. The order is
``TROOPER_URL`` (``Settings.url``), else ``127.0.0.1:$TROOPER_PORT`` when its ``/health`` answers,
else ``python -m trooper serve`` started as a detached process (it outlives the kernel that
started it, so other kernels and agents keep using it) and waited for until healthy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from trooper.config import Settings

#: A server that does not answer /health this fast is treated as absent.
PROBE_TIMEOUT_SECONDS = 1.0
#: The first start may load the embedded model; later starts are much faster.
START_TIMEOUT_SECONDS = 120.0
POLL_INTERVAL_SECONDS = 0.2
LOG_DIR = Path.home() / ".trooper"


class ServerUnavailable(RuntimeError):
    """No Trooper server could be reached or started; the message says what to do."""


@dataclass(frozen=True)
class Server:
    url: str
    token: str = ""
    #: The server's process id when this process started it (it keeps running after the kernel exits).
    pid: int | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


def probe(url: str, token: str = "", timeout: float = PROBE_TIMEOUT_SECONDS) -> dict[str, Any] | None:
    """The server's ``/health`` document, or None when nothing healthy answers at ``url``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url}/health", headers=headers, timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) and body.get("status") == "ok" else None


def local_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.port}"


def log_path(settings: Settings) -> Path:
    return LOG_DIR / f"server-{settings.port}.log"


def start_detached(settings: Settings) -> subprocess.Popen[bytes]:
    """``python -m trooper serve`` in its own session, so a kernel restart does not stop it."""
    log = log_path(settings)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "trooper", "serve", "--port", str(settings.port)]
    with open(log, "ab") as output:
        if os.name == "nt":
            flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]  # Windows only
            return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, creationflags=flags)
        return subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )


def wait_until_healthy(
    url: str, token: str, process: subprocess.Popen[bytes], timeout: float, log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe(url, token) is not None:
            return
        if process.poll() is not None:
            # Another kernel may have won the race for the port: its server is just as good.
            if probe(url, token) is not None:
                return
            raise ServerUnavailable(
                f"Trooper exited with code {process.returncode} while starting on {url}.\n"
                f"Last lines of {log}:\n{_tail(log)}"
            )
        time.sleep(POLL_INTERVAL_SECONDS)
    raise ServerUnavailable(
        f"Trooper did not answer {url}/health within {timeout:.0f} s of starting. "
        f"It may still be loading the local model; see {log}, or start it yourself with `trooper serve`."
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def find_or_start(settings: Settings, *, start_timeout: float = START_TIMEOUT_SECONDS) -> Server:
    """The server to talk to, starting a shared local one when none answers."""
    if settings.url:
        if probe(settings.url, settings.token) is None:
            raise ServerUnavailable(f"TROOPER_URL is {settings.url} but its /health does not answer.")
        return Server(settings.url, settings.token)
    url = local_url(settings)
    if probe(url, settings.token) is not None:
        return Server(url, settings.token)
    process = start_detached(settings)
    wait_until_healthy(url, settings.token, process, start_timeout, log_path(settings))
    return Server(url, settings.token, pid=process.pid if process.poll() is None else None)
