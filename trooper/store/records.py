"""What Trooper records about a session: plain data handed to a store.

The proxy builds these on the request path and hands them to ``Store`` methods that only enqueue;
the store writes them off the request path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

TurnRole = Literal["system", "user", "assistant", "tool"]
EventKind = Literal[
    "escalated", "returned", "fallback", "rescue", "hedge", "breaker_open", "breaker_half_open", "breaker_closed",
    "compacted", "route_changed", "error",
]


def now() -> float:
    return time.time()


def plain_text(content: list[dict[str, Any]]) -> str:
    """The plain text of a turn's content blocks: text blocks and the text inside tool results,
    joined by newlines (the same rule as ``Message.text``)."""
    parts: list[str] = []
    for block in content:
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            inner = block.get("content") or []
            parts.append("".join(str(b.get("text", "")) for b in inner if isinstance(b, dict) and b.get("type") == "text"))
    return "\n".join(p for p in parts if p)


@dataclass
class SessionRecord:
    id: str
    #: Where the session came from: ``anthropic`` / ``openai`` front door, ``chat`` API.
    source: str
    created_at: float = field(default_factory=now)
    #: ``local`` or ``cloud``: the route of a chat session.
    route: str = "local"
    title: str = ""
    #: Who sends its turns: ``Claude Code``, ``openai-python``, ``chat page``, ``notebook``…
    #: (``trooper.memory.identity.client_name``); '' when unknown.
    client: str = ""
    #: The session this one is a subagent's child of; None for a root session.
    parent_id: str | None = None
    #: ``identity.Opening.encoded()`` of a named session's main conversation, ``""`` until known.
    opening: str = ""


@dataclass
class TurnRecord:
    session_id: str
    #: Position in the session's transcript (0-based); with ``branch`` it identifies the turn.
    seq: int
    role: TurnRole
    #: Content blocks as the canonical model's dicts (``dataclasses.asdict`` of each block).
    content: list[dict[str, Any]]
    provider: str = ""
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    created_at: float = field(default_factory=now)
    branch: int = 0
    #: Prompt tokens the provider read from its cache (not counted in ``tokens_in``).
    tokens_cached: int = 0
    #: Cloud tokens this answer saved, decided when it was answered (``tokens_saved_by``).
    tokens_saved: int = 0
    #: Dollars this answer cost, and dollars it avoided, priced when it was answered
    #: (``savings_of``); None when the model to price it by has no price.
    cost_spent: float | None = 0.0
    cost_avoided: float | None = 0.0
    #: Why an answer ended (the canonical ``StopReason``: ``end_turn``, ``max_tokens``, ``tool_use``…);
    #: '' for turns no provider answered.
    stop_reason: str = ""
    #: ``local`` or ``cloud``: the tier of the provider that answered, as it said itself; '' for
    #: turns no provider answered.
    tier: str = ""


@dataclass
class AttemptRecord:
    session_id: str
    provider: str
    model: str
    #: HTTP status from the upstream, 0 when none (connection failure, timeout).
    status: int
    #: Why this provider was tried: ``direct``, ``escalated``, ``simple turn``, ``local only``,
    #: ``fallback: <class>``, ``rescue: <class>``, ``retry``, ``hedge`` (started alongside a slow attempt).
    trigger: str
    #: ``ok``, ``error``, ``rescued``, ``cancelled`` (another attempt of the turn answered first).
    outcome: str
    error_class: str = ""
    connect_ms: float | None = None
    first_token_ms: float | None = None
    total_ms: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    created_at: float = field(default_factory=now)


@dataclass
class EventRecord:
    session_id: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=now)


@dataclass
class ThreadRecord:
    """A threaded Messages answer (Claude's message threads, held by Trooper) and the turn holding
    it: a ``continue`` naming the answer's id goes on from that turn."""

    message_id: str
    session_id: str
    branch: int
    seq: int
    created_at: float = field(default_factory=now)


@dataclass
class CompactionRecord:
    """A session an answer compacted, by its compaction (``identity.compaction_key``): a history
    opening with that compaction and naming no session continues it."""

    key: str
    session_id: str
    created_at: float = field(default_factory=now)


@dataclass
class ResponseRecord:
    """An OpenAI Responses API response as its client received it, and the turn holding its answer
    (so ``previous_response_id`` finds the conversation it continues)."""

    id: str
    session_id: str
    branch: int
    seq: int
    #: The response object's JSON text, as ``GET /v1/responses/{id}`` returns it.
    body: str
    created_at: float = field(default_factory=now)


@dataclass
class SitrepRecord:
    session_id: str
    #: The SITREP as its JSON-serialisable dict (``trooper.memory`` output).
    sitrep: dict[str, Any]
    turn_count: int = 0
    created_at: float = field(default_factory=now)
