"""Subagent recovery: what a fresh agent needs to pick up a session where it stopped."""

from __future__ import annotations

import re
from typing import Any

from trooper.conversation import Message, TextBlock, block_to_dict
from trooper.memory.compaction import compact
from trooper.memory.sitrep import extract_sitrep

# "PR #3", "step 3", "phase 3", "#3": the numbered unit of work a completed step names.
_STEP_NUMBER = re.compile(r"(?:\b(?:pr|pull request|step|phase|task|part|stage|milestone)\s*#?\s*|#)(\d+)\b", re.IGNORECASE)


def next_step(completed_steps: list[str]) -> int:
    """The step to resume from: after the highest numbered step done, else after the count done."""
    numbers = [int(n) for step in completed_steps for n in _STEP_NUMBER.findall(step)]
    return (max(numbers) if numbers else len(completed_steps)) + 1


def message_to_json(message: Message) -> dict[str, Any]:
    """``{role, content}``: content a string for plain text, else the blocks as dicts."""
    texts = [block.text for block in message.content if isinstance(block, TextBlock)]
    if len(texts) == len(message.content):
        return {"role": message.role, "content": "\n".join(texts)}
    return {"role": message.role, "content": [block_to_dict(block) for block in message.content]}


#: Open loops a recovery hint names at most.
HINT_LOOPS = 5


def build_recovery(session_id: str, messages: list[Message], budget: int) -> dict[str, Any]:
    """Everything a new agent needs to resume the session, its context compacted into ``budget``.

    ``context`` starts with a ``system`` entry when compaction put a SITREP there.
    """
    sitrep = extract_sitrep(messages)
    resume_from = next_step(sitrep.completed_steps)
    hint = f"Resume from step {resume_from}"
    if sitrep.open_loops:
        # every loop, so a resuming agent misses none (items are concise: at most 12 words each)
        hint += "; still open: " + "; ".join(sitrep.open_loops[:HINT_LOOPS])
    context: list[dict[str, Any]] = []
    if messages:
        compacted = compact(messages, budget)
        if compacted.system:
            context.append({"role": "system", "content": compacted.system})
        context += [message_to_json(m) for m in compacted.messages]
    return {
        "session_id": session_id,
        "completed_steps": sitrep.completed_steps,
        "resume_from": resume_from,
        "recovery_hint": hint,
        "open_loops": sitrep.open_loops,
        "intent": sitrep.intent,
        "context": context,
    }
