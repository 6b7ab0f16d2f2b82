"""Session identity without instrumentation.

A client may name its session: ``X-Session-ID`` (Trooper's own) wins, then Claude Code's
``X-Claude-Code-Session-Id``, then Codex's ``session-id`` (``session_id`` in older versions).
Otherwise the id is derived from what every resend of a conversation repeats unchanged: the system
prompt, the caller's user id if it sends one, and the first user turn. A stateless client that
resends its history therefore always lands in the same session. A history that opens with a
compaction in place of all it summarises continues the session that compaction was answered in
(``compaction_key``; the session service keeps them in the store, the newest also in memory).

Agents run subagents under their own session id. Claude Code names each subagent in
``x-claude-code-agent-id`` (and the subagent that spawned it, if any, in
``x-claude-code-parent-agent-id``); Codex names every thread in ``thread-id`` (the main one has
the session's id) and the spawning thread in ``x-codex-parent-thread-id``. A subagent gets a
child session of its own, whose id is derived from the session's and the agent's: the same
subagent's later turns land in the same child.

The client a session came from (Claude Code, openai-python, the chat page…) is named from what it
sends anyway: its ``User-Agent`` (and Claude Code's session header).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Mapping

from trooper.conversation import Request

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
#: Child session ids: the prefix and this many hex digits of a digest; safe in any URL.
CHILD_PREFIX = "sub-"
_CHILD_DIGITS = 20


class InvalidSessionId(ValueError):
    pass


@dataclass(frozen=True)
class ClientIds:
    """What a client's headers say about who is asking."""

    #: The session the client named, or None (the id is then derived from the conversation).
    session: str | None = None
    #: The subagent asking, or None for the main agent.
    agent: str | None = None
    #: The subagent that spawned ``agent``, or None when the main agent did.
    parent_agent: str | None = None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The header's value, validated, or None when it is absent or blank."""
    value = (headers.get(name) or "").strip()
    if not value:
        return None
    if not _SAFE_ID.match(value):
        raise InvalidSessionId(
            f"{name} must be 1-{MAX_SESSION_ID_LENGTH} characters of letters, digits and . _ : @ / + = -"
        )
    return value


def _claude_code_ids(headers: Mapping[str, str]) -> ClientIds | None:
    session = _header(headers, CLAUDE_CODE_HEADER)
    if session is None:
        return None
    return ClientIds(session, _header(headers, "x-claude-code-agent-id"), _header(headers, "x-claude-code-parent-agent-id"))


def _codex_ids(headers: Mapping[str, str]) -> ClientIds | None:
    session = _header(headers, "session-id") or _header(headers, "session_id")
    if session is None:
        return None

    def subagent(thread: str | None) -> str | None:
        return None if thread == session else thread  # the main thread carries the session's id

    return ClientIds(session, subagent(_header(headers, "thread-id")), subagent(_header(headers, "x-codex-parent-thread-id")))


def client_ids(headers: Mapping[str, str]) -> ClientIds:
    """The session, agent and parent agent a request's headers name (each validated)."""
    named = _header(headers, "x-session-id")
    ids = _claude_code_ids(headers) or _codex_ids(headers) or ClientIds()
    return replace(ids, session=named) if named else ids


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _first_user_text(request: Request) -> str:
    first_user = next((m for m in request.messages if m.role == "user"), None)
    return first_user.text().strip() if first_user is not None else ""


def derived_session_id(request: Request) -> str:
    """A stable id from the conversation's opening: system prompt, caller id and first user turn."""
    caller = str(request.metadata.get("user_id") or request.metadata.get("user") or "")
    return "s-" + _digest(request.system or "", caller, _first_user_text(request))[:20]


def compaction_key(summary: str) -> str:
    """What names a compaction (its summary's digest), for the session it compacted."""
    return "c-" + _digest(summary)[:32]


@dataclass(frozen=True)
class Opening:
    """Digests of what starts a conversation: its system prompt and its first user turn."""

    system: str
    first_user: str

    def encoded(self) -> str:
        return f"{self.system}.{self.first_user}"

    @classmethod
    def decode(cls, text: str) -> Opening | None:
        system, dot, first_user = text.partition(".")
        return cls(system, first_user) if dot else None

    def starts_another(self, other: Opening) -> bool:
        """Whether this is another conversation than ``other``'s: both parts differ. A compacted
        history keeps its system prompt, and a side request may repeat the first user turn."""
        return self.system != other.system and self.first_user != other.first_user


def opening_of(request: Request) -> Opening:
    return Opening(_digest(request.system or "")[:16], _digest(_first_user_text(request))[:16])


def child_session_id(session_id: str, child: str) -> str:
    """The id of the child ``child`` (an agent's or an opening's key) of the session the client
    named ``session_id``: the same for every turn of that child, and safe in a URL."""
    return CHILD_PREFIX + _digest(session_id, child)[:_CHILD_DIGITS]


def agent_key(agent_id: str) -> str:
    return "agent:" + agent_id


def opening_key(opening: Opening) -> str:
    return "opening:" + opening.encoded()


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
