"""Two ``trooper serve`` replicas sharing one PostgreSQL store behind nginx (tests/nginx.py),
started from deploy/Procfile, and an SDK client that resends its history and learns which
replica answered each turn."""

from __future__ import annotations

from typing import Any, Iterator

import anthropic
import httpx
import pytest

from tests.e2e.procfile import procfile_command
from tests.fakes.behaviours import echo
from tests.nginx import Nginx

TOKEN = "balanced-token-0123456789"
SESSION = "behind-nginx"


def start_replicas(trooper_process, env: dict[str, str], count: int = 2) -> list[Any]:  # type: ignore[no-untyped-def]
    """``count`` replicas started as deploy/Procfile says (each told to pick a free port: PORT=0)."""
    return [trooper_process(command=procfile_command("trooper"), PORT="0", **env) for _ in range(count)]


@pytest.fixture
def balanced(trooper_process, fake_ollama, postgres_url, tmp_path) -> Iterator[tuple[Nginx, list[Any]]]:
    fake_ollama.default = echo(lambda r: f"local: {r.last_user_text()}")
    env = {"TROOPER_DB": postgres_url, "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_TOKEN": TOKEN}
    replicas = start_replicas(trooper_process, env)
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
