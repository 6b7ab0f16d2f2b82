"""A small synchronous client for Trooper's chat API (``/api/chat/...``).

The notebook talks to the server over HTTP, like the ``/chat`` page does, so a notebook session
is an ordinary chat session: it shows on ``/dashboard`` and in the DataFrames. Answers arrive as
Server-Sent Events (``escalated``, ``start``, ``delta``..., then ``done`` or ``error``); this
module turns them into ``ChatEvent`` values and folds them into an ``Answer``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx

from trooper import __version__
from trooper.notebook.connection import Server
from trooper.wire.sse import SSEParser

#: Local models can be slow to start an answer; the server enforces its own stream timeouts.
READ_TIMEOUT_SECONDS = 300.0
#: Names the notebook's sessions as ``notebook`` on the dashboard (``identity.KNOWN_CLIENTS``).
USER_AGENT = f"trooper-notebook/{__version__}"


class ChatAPIError(RuntimeError):
    """The chat API refused a request; ``status`` is the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Trooper answered {status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ChatEvent:
    kind: str
    data: dict[str, Any]


@dataclass
class Answer:
    """One answer as it streams in: the text so far and what the server said about it."""

    text: str = ""
    escalated: bool = False
    start: dict[str, Any] = field(default_factory=dict)
    done: dict[str, Any] | None = None
    error: str | None = None
    #: The server asks before escalating a session holding private data (what was found, never the value).
    confirm: dict[str, Any] | None = None

    def add(self, event: ChatEvent) -> None:
        if event.kind == "escalated":
            self.escalated = True
        elif event.kind == "start":
            self.start = event.data
        elif event.kind == "delta":
            self.text += str(event.data.get("text", ""))
        elif event.kind == "done":
            self.done = event.data
        elif event.kind == "error":
            self.error = str(event.data.get("message", "unknown error"))
        elif event.kind == "confirm":
            self.confirm = event.data

    @property
    def finished(self) -> bool:
        return self.done is not None or self.error is not None or self.confirm is not None

    def info(self, key: str) -> Any:
        """A field of the final ``done`` event, else of ``start``."""
        return (self.done or {}).get(key, self.start.get(key, ""))


class ChatClient:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._http = httpx.Client(
            base_url=server.url,
            headers={**server.headers, "User-Agent": USER_AGENT},
            timeout=httpx.Timeout(30.0, read=READ_TIMEOUT_SECONDS),
            trust_env=False,
        )

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def create_session(self) -> str:
        return str(self._json("POST", "/api/chat/sessions")["id"])

    def session(self, session_id: str) -> dict[str, Any]:
        """The session's messages, events, SITREP, route and stats."""
        return self._json("GET", f"/api/chat/sessions/{session_id}")

    def list_sessions(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/chat/sessions")

    def send(self, session_id: str, content: str, route: str | None = None) -> Iterator[ChatEvent]:
        body: dict[str, Any] = {"content": content}
        if route is not None:
            body["route"] = route
        return self._events(f"/api/chat/sessions/{session_id}/messages", body)

    def escalate(self, session_id: str, *, confirm: bool = False) -> Iterator[ChatEvent]:
        """Answer the last question again with the cloud; the session's route becomes ``cloud``.
        A session holding private data answers a ``confirm`` event instead, unless ``confirm``."""
        return self._events(f"/api/chat/sessions/{session_id}/escalate", {"confirm": True} if confirm else {})

    def back_to_local(self, session_id: str) -> str:
        return str(self._json("POST", f"/api/chat/sessions/{session_id}/return")["route"])

    def add_cloud_key(self, provider: str, key: str, *, save: bool = False) -> dict[str, Any]:
        """Give the server a cloud key for its lifetime (saved to its keys file when ``save``);
        the answer says which providers have a key, never the key."""
        return self._json("POST", "/api/cloud-keys", {"provider": provider, "key": key, "save": save})

    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        if response.is_error:
            raise ChatAPIError(response.status_code, _error_message(response.text))
        return response.json()

    def _events(self, path: str, body: dict[str, Any]) -> Iterator[ChatEvent]:
        parser = SSEParser()
        headers = {"Accept": "text/event-stream"}
        with self._http.stream("POST", path, json=body, headers=headers) as response:
            if response.is_error:
                raise ChatAPIError(response.status_code, _error_message(response.read().decode(errors="replace")))
            for chunk in response.iter_bytes():
                for frame in parser.feed(chunk):
                    yield ChatEvent(frame.event or "message", json.loads(frame.data))
            for frame in parser.flush():
                yield ChatEvent(frame.event or "message", json.loads(frame.data))


def _error_message(text: str) -> str:
    try:
        return str(json.loads(text)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return text[:500]
