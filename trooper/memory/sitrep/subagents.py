"""What a session's SITREP says of its subagents: what each was asked and whether it finished.

A subagent works in a child session with a SITREP of its own; its parent's SITREP lists it, in
one line each (docs/sitrep.md): ``subagent: <what it was asked> (running)`` among the open
loops while it works, ``subagent: <what it was asked> (done)`` among the completed steps once it
has given its final answer. ``Sitrep.subagents`` keeps the same as data, with the child's id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable

from trooper.conversation import Message, ToolUseBlock
from trooper.memory.sitrep.builder import Sitrep, concise


@dataclass(frozen=True)
class Subagent:
    session_id: str
    #: What it was asked: its SITREP's intent, else the opening of its first user turn.
    asked: str
    #: Whether its latest message is a final answer (an assistant turn that calls no tool).
    done: bool

    def item(self) -> str:
        return f"subagent: {self.asked} ({'done' if self.done else 'running'})"


def finished(messages: list[Message]) -> bool:
    """An agent has finished when it last answered without calling a tool."""
    last = messages[-1] if messages else None
    return last is not None and last.role == "assistant" and not any(isinstance(b, ToolUseBlock) for b in last.content)


def subagent_of(session_id: str, messages: list[Message], sitrep: Sitrep) -> Subagent:
    """The parent's view of a child session, from the child's messages and SITREP."""
    first_user = next((m.text() for m in messages if m.role == "user"), "")
    asked = concise(sitrep.intent or first_user) or "(no task stated)"
    return Subagent(session_id, asked, finished(messages))


def with_subagents(sitrep: Sitrep, subagents: Iterable[Subagent]) -> Sitrep:
    """``sitrep`` with a loop for each subagent at work and a step for each one done."""
    children = list(subagents)
    if not children:
        return sitrep
    return replace(
        sitrep,
        open_loops=sitrep.open_loops + [s.item() for s in children if not s.done],
        completed_steps=sitrep.completed_steps + [s.item() for s in children if s.done],
        subagents=[asdict(s) for s in children],
    )


def subagents_from(sitrep: dict[str, Any] | None) -> dict[str, Subagent]:
    """The subagents a stored SITREP lists, by session id (a session reloaded after a restart)."""
    listed = (sitrep or {}).get("subagents") or []
    return {s["session_id"]: Subagent(s["session_id"], s["asked"], bool(s["done"])) for s in listed}
