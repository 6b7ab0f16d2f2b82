"""A small, fully known set of records, shared by the store, frames and API tests."""

from __future__ import annotations

from trooper.store.base import Store
from trooper.store.records import (
    AttemptRecord,
    EventRecord,
    SessionRecord,
    SitrepRecord,
    TurnRecord,
)

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def text(value: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": value}]


def record_sample(store: Store) -> None:
    """Session ``alpha``: answered by ollama, then a fallback, then escalated to claude, with a
    SITREP. Session ``beta/é?&<x>``: an awkward id, one local turn (its avoided cost unpriced),
    later activity."""
    store.upsert_session(SessionRecord("alpha", "anthropic", created_at=T0, title="first", client="Claude Code"))
    store.add_turns(
        [
            TurnRecord("alpha", 0, "user", text("hello"), tokens_in=3, created_at=T0 + 1),
            TurnRecord("alpha", 1, "assistant", text("hi there"), "ollama", "llama3.1:8b", 10, 5, 120.0, T0 + 2, tokens_saved=15,
                       stop_reason="end_turn", tier="local", cost_avoided=0.000035),
            TurnRecord("alpha", 2, "user", text("explain WAL"), tokens_in=4, created_at=T0 + 3),
            TurnRecord("alpha", 3, "assistant", text("WAL is..."), "claude", "claude-haiku", 20, 40, 800.0, T0 + 4, stop_reason="max_tokens",
                       tier="cloud", cost_spent=0.00022),
        ]
    )
    store.add_attempt(AttemptRecord("alpha", "ollama", "llama3.1:8b", 200, "simple turn", "ok", total_ms=120.0, created_at=T0 + 2))
    store.add_attempt(
        AttemptRecord("alpha", "openai", "gpt-4o-mini", 429, "direct", "error", "rate_limit", 5.0, None, 9.0, created_at=T0 + 3)
    )
    store.add_attempt(AttemptRecord("alpha", "claude", "claude-haiku", 200, "fallback: quota", "ok", total_ms=800.0, created_at=T0 + 4))
    store.add_event(EventRecord("alpha", "fallback", {"from": "openai", "to": "claude", "reason": "quota"}, T0 + 3))
    store.add_event(EventRecord("alpha", "escalated", {"to": "claude"}, T0 + 3.5))
    store.add_sitrep(SitrepRecord("alpha", {"intent": "greeting", "open_loops": []}, 2, T0 + 2.5))
    store.add_sitrep(SitrepRecord("alpha", {"intent": "learn about WAL", "open_loops": ["checkpointing"]}, 4, T0 + 5))
    store.upsert_session(SessionRecord("beta/é?&<x>", "openai", created_at=T0 + 100))
    store.add_turns(
        [
            TurnRecord("beta/é?&<x>", 0, "user", text("ping"), created_at=T0 + 101),
            TurnRecord("beta/é?&<x>", 1, "assistant", text("pong"), "embedded", "smollm2", 7, 1, 50.0, T0 + 102, tokens_saved=8,
                       stop_reason="end_turn", tier="local", cost_avoided=None),
        ]
    )
