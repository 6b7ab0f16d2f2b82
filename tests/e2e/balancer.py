"""A balancer for tests: Debian's nginx configured with ``deploy/nginx-trooper.conf`` (the file
docs/deploy.md tells deployments to include) in front of ``trooper serve`` replicas sharing one
PostgreSQL store, and an SDK client that resends its history.

Every answer says which replica served it (nginx's ``$upstream_addr``, a header this test wrapper
adds).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator

import anthropic
import httpx
import pytest

from tests.e2e.conftest import REPO
from tests.fakes.behaviours import echo
from tests.net import free_port, wait_for

TOKEN = "balanced-token-0123456789"
SESSION = "behind-nginx"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: run `make nginx` (Debian's nginx-light)")
    return found


class Nginx:
    """nginx in the foreground with a configuration of its own in ``root``, in front of ``replicas``."""

    def __init__(self, root: Path, replicas: list[str]) -> None:
        self.port = free_port()
        servers = "\n".join(f"        server {address} max_fails=1 fail_timeout=30s;" for address in replicas)
        temp = "\n".join(f"    {kind}_temp_path {root}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (root / "nginx.conf").write_text(f"""
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp}
    upstream trooper {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        add_header X-Test-Replica $upstream_addr always;
        include {REPO}/deploy/nginx-trooper.conf;
    }}
}}
""")
        self.process = subprocess.Popen([nginx_binary(), "-p", str(root), "-c", str(root / "nginx.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: httpx.get(f"{self.url}/health").status_code == 200, timeout=10, interval=0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def balanced(trooper_process, fake_ollama, postgres_url, tmp_path) -> Iterator[tuple[Nginx, list[Any]]]:
    fake_ollama.default = echo(lambda r: f"local: {r.last_user_text()}")
    env = {"TROOPER_DB": postgres_url, "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_TOKEN": TOKEN}
    replicas = [trooper_process(**env), trooper_process(**env)]
    nginx = Nginx(tmp_path, [replica.url.removeprefix("http://") for replica in replicas])
    yield nginx, replicas
    nginx.stop()


class Client:
    """A stateless SDK client resending its history every turn, as agents do."""

    def __init__(self, url: str, retries: int = 0) -> None:
        self.sdk = anthropic.Anthropic(base_url=url, api_key=TOKEN, max_retries=retries)
        self.messages: list[dict[str, str]] = []

    def ask(self, question: str, *, stream: bool, session_id: str = SESSION) -> tuple[str, str]:
        """The answer, and the replica that served it (nginx lists the replicas it tried: the last answered)."""
        self.messages.append({"role": "user", "content": question})
        kwargs: dict[str, Any] = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": self.messages,
                                  "extra_headers": {"X-Session-ID": session_id}}
        if stream:
            with self.sdk.messages.stream(**kwargs) as answer:
                message, headers = answer.get_final_message(), answer.response.headers
        else:
            raw = self.sdk.messages.with_raw_response.create(**kwargs)
            message, headers = raw.parse(), raw.headers
        text = "".join(block.text for block in message.content if block.type == "text")
        self.messages.append({"role": "assistant", "content": text})
        return text, headers["x-test-replica"].split(", ")[-1]


def stored(url: str) -> list[tuple[int, str, str]]:
    turns = httpx.get(f"{url}/sessions/{SESSION}/transcript", headers={"Authorization": f"Bearer {TOKEN}"}).json()["turns"]
    return [(t["seq"], t["role"], "".join(b.get("text", "") for b in t["content"])) for t in turns]


def expected(client: Client) -> list[tuple[int, str, str]]:
    return [(seq, m["role"], m["content"]) for seq, m in enumerate(client.messages)]
