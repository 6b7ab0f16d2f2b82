"""Session identity without instrumentation.

An explicit ``X-Session-ID`` wins, then Claude Code's ``X-Claude-Code-Session-Id``; otherwise the id
is derived from what every resend of a conversation repeats unchanged: the system prompt, the
caller's user id if it sends one, and the first user turn. A stateless client that resends its
history therefore always lands in the same session.

The client a session came from (Claude Code, openai-python, the chat page…) is named from what it
sends anyway: its ``User-Agent`` (and Claude Code's session header).
"""

from __future__ import annotations

import hashlib
import re
from typing import Mapping

from trooper.conversation import Request

SESSION_HEADERS = ("x-session-id", "x-claude-code-session-id")
CLAUDE_CODE_HEADER = "x-claude-code-session-id"
#: ``User-Agent`` prefixes of well-known clients, and the names people know them by.
KNOWN_CLIENTS = (
    ("claude-cli/", "Claude Code"),
    ("claude-code/", "Claude Code"),
    ("trooper-notebook/", "notebook"),
    ("Anthropic/Python", "anthropic-python"),
    ("Anthropic/JS", "anthropic-js"),
    ("OpenAI/Python", "openai-python"),
    ("OpenAI/JS", "openai-node"),
)
#: What a browser on the chat API is: the /chat page (the notebook says who it is).
CHAT_PAGE = "chat page"
#: An unknown client is named by its User-Agent's product token, cut to this length.
MAX_CLIENT_NAME = 40
MAX_SESSION_ID_LENGTH = 128
_SAFE_ID = re.compile(r"^[\w.:@/+=-]{1,128}$", re.ASCII)


class InvalidSessionId(ValueError):
    pass


def explicit_session_id(headers: Mapping[str, str]) -> str | None:
    """The session id the client named, validated, or ``None``."""
    for name in SESSION_HEADERS:
        value = (headers.get(name) or "").strip()
        if value:
            if not _SAFE_ID.match(value):
                raise InvalidSessionId(
                    f"{name} must be 1-{MAX_SESSION_ID_LENGTH} characters of letters, digits and . _ : @ / + = -"
                )
            return value
    return None


def derived_session_id(request: Request) -> str:
    """A stable id from the conversation's opening: system prompt, caller id and first user turn."""
    digest = hashlib.sha256()
    digest.update((request.system or "").encode("utf-8", "surrogatepass"))
    digest.update(b"\x00")
    digest.update(str(request.metadata.get("user_id") or request.metadata.get("user") or "").encode())
    digest.update(b"\x00")
    first_user = next((m for m in request.messages if m.role == "user"), None)
    if first_user is not None:
        digest.update(first_user.text().strip().encode("utf-8", "surrogatepass"))
    return "s-" + digest.hexdigest()[:20]


def session_id_for(headers: Mapping[str, str], request: Request) -> str:
    return explicit_session_id(headers) or derived_session_id(request)


def client_name(headers: Mapping[str, str], *, chat_api: bool = False) -> str:
    """Who sends a session's turns: a well-known client by its usual name, a browser on the chat
    API as the chat page, any other client by its ``User-Agent`` product (``curl``,
    ``python-httpx``), and '' when there is no ``User-Agent``."""
    agent = (headers.get("user-agent") or "").strip()
    if headers.get(CLAUDE_CODE_HEADER):
        return "Claude Code"
    known = next((name for prefix, name in KNOWN_CLIENTS if agent.startswith(prefix)), None)
    if known is not None:
        return known
    if chat_api and agent.startswith("Mozilla/"):
        return CHAT_PAGE
    return re.split(r"[/\s]", agent, maxsplit=1)[0][:MAX_CLIENT_NAME]
