"""What a fake upstream received, and the text measures every fake derives from it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation marks each count one."""
    return len(_TOKEN.findall(text))


def content_text(content: Any) -> str:
    """The plain text of a message ``content`` in any of the providers' shapes.

    Handles a bare string (all providers), a list of parts with ``type: text`` (Anthropic and
    OpenAI) and Anthropic ``tool_result`` blocks, whose own content is text or parts.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif part.get("type") == "tool_result":
            parts.append(content_text(part.get("content")))
    return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as it arrived at a fake."""

    method: str
    path: str
    query: str
    #: Header names are lower-case; a repeated header keeps its last value.
    headers: dict[str, str]
    body: bytes
    #: The body parsed as JSON, or None when it is empty or not JSON.
    json: Any
    #: ``time.monotonic()`` when the request line and body had arrived.
    arrived_at: float
    #: The client's port: which TCP connection the request came on (0 when unknown).
    client_port: int = 0

    @property
    def model(self) -> str | None:
        return self.json.get("model") if isinstance(self.json, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.json, dict) and isinstance(self.json.get("messages"), list):
            return self.json["messages"]
        return []

    @property
    def api_key(self) -> str | None:
        """The credential sent: ``x-api-key`` or an ``Authorization: Bearer`` token."""
        if "x-api-key" in self.headers:
            return self.headers["x-api-key"]
        scheme, _, token = self.headers.get("authorization", "").partition(" ")
        return token if scheme.lower() == "bearer" and token else None

    def last_user_text(self) -> str:
        """Text of the last message from the user or a tool result (what an echo answers with).

        Tool results count as the user's turn because Anthropic sends them in a ``user`` message
        while OpenAI uses a ``tool`` role: an echo then behaves the same for both.
        """
        for message in reversed(self.messages):
            if message.get("role") in ("user", "tool"):
                return content_text(message.get("content"))
        return ""

    def prompt_text(self) -> str:
        """Everything the model would read: system prompt, every message, tool calls, tools."""
        parts: list[str] = []
        body = self.json if isinstance(self.json, dict) else {}
        parts.append(content_text(body.get("system")))
        for message in self.messages:
            parts.append(content_text(message.get("content")))
            for block in message.get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    parts.append(json.dumps(block.get("input", {})))
            for call in message.get("tool_calls") or []:
                parts.append(json.dumps(call.get("function", {})))
        if body.get("tools"):
            parts.append(json.dumps(body["tools"]))
        return "\n".join(p for p in parts if p)

    def input_tokens(self) -> int:
        return max(1, count_tokens(self.prompt_text()))
