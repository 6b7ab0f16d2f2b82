"""Two ``trooper serve`` replicas sharing one PostgreSQL store behind nginx (tests/nginx.py),
started from deploy/Procfile, and an SDK client that resends its history and learns which
replica answered each turn."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterator

import anthropic
import httpx
import pytest
from anthropic.types import Message

from tests.e2e.procfile import procfile_command
from tests.fakes.behaviours import echo
from tests.nginx import Nginx
from trooper.server.sessions_api import HEARTBEAT_SECONDS

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
        #: The history as the client resends it: text as a string, tool calls and results as blocks.
        self.messages: list[dict[str, Any]] = []

    def ask(self, question: str, *, stream: bool, session_id: str = SESSION) -> tuple[str, str]:
        """The answer's text, and the replica that served it."""
        message, replica = self.send(question, stream=stream, session_id=session_id)
        return "".join(block.text for block in message.content if block.type == "text"), replica

    def send(
        self, content: str | list[dict[str, Any]], *, stream: bool, session_id: str = SESSION,
        tools: list[dict[str, Any]] | None = None, retries: int | None = None,
    ) -> tuple[Message, str]:
        """The answer to ``content`` (a question, or tool results), and the replica that served it
        (nginx lists the replicas it tried: the last answered); ``retries`` overrides the client's
        own for this request."""
        sdk = self.sdk if retries is None else self.sdk.with_options(max_retries=retries)
        self.messages.append({"role": "user", "content": content})
        kwargs: dict[str, Any] = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": self.messages,
                                  "extra_headers": {"X-Session-ID": session_id}, **({"tools": tools} if tools else {})}
        if stream:
            with sdk.messages.stream(**kwargs) as answer:
                message, headers = answer.get_final_message(), answer.response.headers
        else:
            raw = sdk.messages.with_raw_response.create(**kwargs)
            message, headers = raw.parse(), raw.headers
        blocks = [as_dict(block) for block in message.content]
        plain = all(block["type"] == "text" for block in blocks)
        self.messages.append({"role": "assistant", "content": "".join(b["text"] for b in blocks) if plain else blocks})
        return message, headers["x-test-replica"].split(", ")[-1]


def as_dict(block: Any) -> dict[str, Any]:
    """An answer's content block as a client resends it."""
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return {"type": "text", "text": block.text}


def comparable(content: str | list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Message content, sent or stored, as what must match: text, tool calls with their ids and
    arguments, tool results with the id of the call they answer and their text."""
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    shaped: list[tuple[Any, ...]] = []
    for block in blocks:
        if block["type"] == "text":
            shaped.append(("text", block["text"]))
        elif block["type"] == "tool_use":
            shaped.append(("tool_use", block["id"], block["name"], block["input"]))
        else:
            inner = block["content"]
            text = inner if isinstance(inner, str) else "".join(part.get("text", "") for part in inner)
            shaped.append((block["type"], block["tool_use_id"], text))
    return shaped


def transcript(url: str, session_id: str = SESSION) -> list[tuple[int, str, list[tuple[Any, ...]]]]:
    """A session's stored transcript as (seq, role, comparable content)."""
    turns = httpx.get(f"{url}/sessions/{session_id}/transcript", headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=60).json()["turns"]
    return [(t["seq"], t["role"], comparable(t["content"])) for t in turns]


def stored(url: str) -> list[tuple[int, str, str]]:
    turns = httpx.get(f"{url}/sessions/{SESSION}/transcript", headers={"Authorization": f"Bearer {TOKEN}"}).json()["turns"]
    return [(t["seq"], t["role"], "".join(b.get("text", "") for b in t["content"])) for t in turns]


def expected(client: Client) -> list[tuple[int, str, str]]:
    return [(seq, m["role"], m["content"]) for seq, m in enumerate(client.messages)]


def sent(messages: list[dict[str, Any]]) -> list[tuple[int, str, list[tuple[Any, ...]]]]:
    """A client's history (``Client.messages``), as ``transcript`` reads the stored one: a user
    message of tool results alone is stored as a ``tool`` turn (docs/store.md)."""
    return [(seq, stored_role(m), comparable(m["content"])) for seq, m in enumerate(messages)]


def stored_role(message: dict[str, Any]) -> str:
    content = message["content"]
    results = isinstance(content, list) and content and all(block["type"] == "tool_result" for block in content)
    return "tool" if message["role"] == "user" and results else str(message["role"])


class LiveFeed(threading.Thread):
    """``/api/live`` of one replica read until ``stop``: every update, with when it arrived."""

    def __init__(self, url: str) -> None:
        super().__init__(name="live-feed", daemon=True)
        self.url = url
        self.updates: list[tuple[float, dict[str, Any]]] = []
        self.connected = threading.Event()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            # Heartbeats come every HEARTBEAT_SECONDS: a read waiting longer means the feed died.
            with httpx.Client(timeout=httpx.Timeout(10, read=HEARTBEAT_SECONDS + 10)) as client, \
                    client.stream("GET", self.url + "/api/live", headers=headers) as response:
                for line in response.iter_lines():
                    if self.stopping.is_set():
                        return
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("data: "):
                        self.updates.append((time.monotonic(), json.loads(line[6:])))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.failure = exc

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
