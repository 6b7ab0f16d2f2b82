"""ANCHOR / SITREP / TAIL compaction of a conversation into a token budget.

- ANCHOR: the first two messages verbatim (three when the second calls tools: their results
  come along), ~10% of a typical budget.
- SITREP: everything before the tail, summarised by ``extract_sitrep`` into at most 20% of the
  budget and appended to the system prompt. The system prompt, not a made-up turn: every kept
  message stays verbatim and the roles keep alternating without inventing an assistant reply.
- TAIL: the latest messages verbatim, as many as the rest of the budget holds (~70%).

When the tail would start with an assistant message right after the anchor's assistant message
(or at the very start), a one-line user "bridge" turn says what was left out, so the result
still starts with a user turn and alternates. A tool result never loses its tool call: the
tail never starts at a message of tool results.

A compaction is made to last: a local model (Ollama, llama.cpp) evaluates again only what follows
the longest prefix its new prompt shares with the last one, and a cut that moved every turn (the
tail's start, the SITREP in the system prompt) made it evaluate the whole window on every turn. So
a cut leaves ``REGROWTH_SHARE`` of the budget for the turns to come, and the next turn of the same
conversation is cut where the last one was (``Cut``), its SITREP unchanged, while it fits: only
the new turns are new to the model. When it no longer fits, the conversation is cut anew.

When even that does not fit, in this order: older tail turns go (down to the latest user turn),
then the anchor, then the SITREP is cut down (down to nothing), then the system prompt is cut
and, last, the text of the assistant turn whose tool calls the latest user turn answers. The
latest user turn is never cut: if it cannot fit with the tool definitions, ``ContextTooLarge``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Sequence

from trooper.conversation import Block, Message, Request, TextBlock, Tool, ToolResultBlock, ToolUseBlock
from trooper.errors import InvalidRequest, TrooperError
from trooper.memory.sitrep import Sitrep, extract_sitrep, render_sitrep
from trooper.memory.tokens import (
    REQUEST_OVERHEAD,
    count_message_tokens,
    count_tokens,
    count_tool_tokens,
)

SITREP_SHARE = 0.20
#: Of the budget, what a new cut leaves free for the turns that follow it (each of which then
#: reuses the cut) at least: a little less tail on the turn that cuts, the whole prompt kept for
#: the next ones. More when two turns the size of the latest exchange need more, up to half.
REGROWTH_SHARE = 0.20
TRUNCATION_MARK = "\n…[truncated by Trooper]"


class ContextTooLarge(TrooperError):
    """The latest user turn and the tool definitions alone exceed the budget."""

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(
            413,
            f"the latest user turn and the tool definitions need {needed} tokens; the context budget is {budget}",
            "request_too_large",
        )
        self.needed = needed
        self.budget = budget


@dataclass
class Compacted:
    messages: list[Message]
    system: str | None
    #: Messages of the original conversation that are not in ``messages``.
    dropped_turns: int
    #: Tokens of the dropped messages plus tokens cut from the system prompt or a long turn.
    dropped_tokens: int
    #: Tokens of the compacted request (system, messages, tools), as ``count_request_tokens`` counts.
    kept_tokens: int
    sitrep_injected: bool
    #: Where the conversation was cut, for the next turn's compaction (None: nothing dropped, or
    #: cut past the SITREP: the system prompt itself).
    cut: Cut | None = None


@dataclass(frozen=True)
class Cut:
    """Where a compaction cut a conversation, so that the next turn's cuts it the same way: the
    anchor, what was dropped (and the bridge saying so), the system prompt with its SITREP."""

    budget: int
    #: The client's system prompt it was made from, and the one the compaction sent.
    system: str | None
    compacted_system: str | None
    #: Where the tail starts, and a digest of the messages before it (the anchor, those dropped):
    #: the session keeps the cut, not a second copy of its history.
    start: int
    head_digest: int
    anchor_end: int
    bridge: Message | None
    sitrep_injected: bool

    def holds(self, messages: Sequence[Message], system: str | None, budget: int) -> bool:
        """``messages`` go on the conversation this cut was made of, under the same budget and
        system prompt (what a local model is not sent may differ: a cache hint, a signature)."""
        if budget != self.budget or system != self.system or len(messages) <= self.start:
            return False
        return head_digest(messages[: self.start]) == self.head_digest


def head_digest(messages: Sequence[Message]) -> int:
    """A digest of what ``messages`` say: each one's role, texts and tool calls' ids and inputs."""
    return hash(tuple((m.role, tuple(_said(block) for block in m.content)) for m in messages))


def _said(block: Block) -> object:
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, ToolUseBlock):
        return block.id, block.name, repr(block.input)
    if isinstance(block, ToolResultBlock):
        return block.tool_use_id, block.text(), block.is_error
    return block.type


def bridge_message(dropped: int, with_sitrep: bool) -> Message:
    where = "; see TROOPER_SITREP in the system prompt" if with_sitrep else ""
    return Message("user", [TextBlock(f"[Trooper: {dropped} earlier messages compacted{where}]")])


def truncate_text(text: str, max_tokens: int) -> str:
    """The longest head of ``text`` that, with a truncation mark, fits ``max_tokens``; ``""`` if none."""
    if count_tokens(text) <= max_tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # binary search on the cut position: counting is linear, so O(n log n)
        middle = (low + high + 1) // 2
        if count_tokens(text[:middle] + TRUNCATION_MARK) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return text[:low] + TRUNCATION_MARK if low else ""


# ---------------------------------------------------------------- the shape of a conversation


def _latest_user_index(messages: Sequence[Message]) -> int:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            return index
    raise InvalidRequest("the conversation has no user turn")


def _minimal_tail_start(messages: Sequence[Message], latest: int) -> int:
    """The tail must hold the latest user turn, and the tool calls its tool results answer."""
    if messages[latest].tool_results() and latest > 0:
        return latest - 1
    return latest


def _anchor_end(messages: Sequence[Message], tail_start: int) -> int:
    """End of the anchor prefix: two messages, three when the second calls tools; 0 if none fits."""
    end = 3 if len(messages) > 1 and messages[1].tool_uses() else 2
    return end if end < tail_start else 0


def _can_start_tail(message: Message) -> bool:
    return message.role == "assistant" or not message.tool_results()


def _needs_bridge(messages: Sequence[Message], anchor_end: int, start: int) -> bool:
    """A user turn must sit between the prefix and a tail that opens with the assistant."""
    return messages[start].role == "assistant" and (anchor_end == 0 or messages[anchor_end - 1].role == "assistant")


def _fits_after(messages: Sequence[Message], anchor_end: int, start: int) -> bool:
    """Whether a tail may open at ``start`` after the anchor (a user after a user cannot)."""
    if not _can_start_tail(messages[start]):
        return False
    return not (anchor_end and messages[anchor_end - 1].role == "user" and messages[start].role == "user")


_BRIDGE_TOKENS = count_message_tokens(bridge_message(10**6, with_sitrep=True))


def _choose_tail(messages: Sequence[Message], counts: Sequence[int], anchor_end: int, minimal: int, room: int) -> int | None:
    """The earliest tail start after the anchor whose tail (and bridge) fits ``room``, or ``None``."""
    best: int | None = None
    suffix = sum(counts[minimal:])
    for start in range(minimal, anchor_end, -1):
        if start < minimal:
            suffix += counts[start]
        if suffix > room:
            break
        if _fits_after(messages, anchor_end, start):
            bridge = _BRIDGE_TOKENS if _needs_bridge(messages, anchor_end, start) else 0
            if suffix + bridge <= room:
                best = start
    return best


# ---------------------------------------------------------------- public entry points


def _unpack(
    conversation: Request | Sequence[Message], system: str | None, tools: Sequence[Tool] | None
) -> tuple[list[Message], str | None, list[Tool]]:
    if isinstance(conversation, Request):
        return list(conversation.messages), conversation.system, list(conversation.tools)
    return list(conversation), system, list(tools or ())


def minimum_budget(
    conversation: Request | Sequence[Message], *, system: str | None = None, tools: Sequence[Tool] | None = None
) -> int:
    """The smallest budget ``compact`` accepts: the latest user turn (and what must come with it)
    and the tool definitions, with the system prompt and any other text cut away — or the whole
    conversation, when that is smaller (a bridge turn can cost more than the turns it replaces)."""
    messages, system, tool_list = _unpack(conversation, system, tools)
    latest = _latest_user_index(messages)
    minimal = _minimal_tail_start(messages, latest)
    needed = REQUEST_OVERHEAD + sum(count_tool_tokens(t) for t in tool_list)
    needed += sum(count_message_tokens(m) for m in messages[latest:])
    if minimal < latest:  # the assistant turn whose tool calls are answered: its text can go
        calls = Message("assistant", [b for b in messages[minimal].content if not isinstance(b, TextBlock)])
        needed += count_message_tokens(calls) + _BRIDGE_TOKENS
    whole = REQUEST_OVERHEAD + sum(count_tool_tokens(t) for t in tool_list) + count_tokens(system or "")
    whole += sum(count_message_tokens(m) for m in messages)
    return min(needed, whole)


def compact(
    conversation: Request | Sequence[Message],
    budget: int,
    *,
    system: str | None = None,
    tools: Sequence[Tool] | None = None,
    sitrep: Callable[[], Sitrep | None] | None = None,
    previous: Cut | None = None,
) -> Compacted:
    """Fit a conversation into ``budget`` tokens (system prompt and tool definitions included).

    ``conversation`` is a ``Request`` (its system prompt and tools are used) or a list of
    messages with ``system`` and ``tools`` given separately. A conversation that fits comes back
    unchanged (the same list). ``sitrep``: gives the session's SITREP when the caller keeps one
    (asked only when turns are dropped: building it costs more than most turns' compaction check);
    otherwise, or when it gives ``None``, the SITREP is extracted from the dropped turns.
    ``previous``: the cut of the conversation's last compaction, reused while it holds and fits.
    """
    messages, system, tool_list = _unpack(conversation, system, tools)
    counts = [count_message_tokens(m) for m in messages]
    fixed = REQUEST_OVERHEAD + sum(count_tool_tokens(t) for t in tool_list)
    system_tokens = count_tokens(system or "")
    total = fixed + system_tokens + sum(counts)
    if total <= budget:
        original = conversation.messages if isinstance(conversation, Request) else conversation
        return Compacted(original if isinstance(original, list) else messages, system, 0, 0, total, False)
    floor = minimum_budget(messages, tools=tool_list)
    if floor > budget:
        raise ContextTooLarge(floor, budget)
    if previous is not None and previous.holds(messages, system, budget):
        again = _cut_again(previous, messages, counts, fixed, budget)
        if again is not None:
            return again

    latest = _latest_user_index(messages)
    minimal = _minimal_tail_start(messages, latest)
    anchor_end = _anchor_end(messages, minimal)
    sitrep_cap = int(budget * SITREP_SHARE)
    room = budget - fixed - system_tokens
    regrowth = _regrowth(counts, budget)

    for keep_anchor in (True, False):  # first older tail turns go, then the anchor
        end = anchor_end if keep_anchor else 0
        anchor_tokens = sum(counts[:end])
        start = _choose_tail_leaving(messages, counts, end, minimal, room - anchor_tokens - sitrep_cap, regrowth)
        if start is not None:
            return _assemble(messages, counts, system, tool_list, budget, end, start, minimal, sitrep_cap, sitrep)
    # Then the SITREP shrinks to what is left beside the minimal tail (possibly nothing), and last
    # the system prompt and the answered assistant turn's text are cut.
    return _assemble(messages, counts, system, tool_list, budget, 0, minimal, minimal, None, sitrep)


def _assemble(
    messages: list[Message],
    counts: list[int],
    system: str | None,
    tools: list[Tool],
    budget: int,
    anchor_end: int,
    start: int,
    minimal: int,
    sitrep_cap: int | None,
    known: Callable[[], Sitrep | None] | None,
) -> Compacted:
    fixed = REQUEST_OVERHEAD + sum(count_tool_tokens(t) for t in tools)
    system_tokens = count_tokens(system or "")
    anchor_tokens = sum(counts[:anchor_end])
    bridge = _BRIDGE_TOKENS if _needs_bridge(messages, anchor_end, start) else 0
    tail_tokens = sum(counts[start:])
    spare = budget - fixed - system_tokens - anchor_tokens - bridge - tail_tokens
    if sitrep_cap is not None:
        spare = min(spare, sitrep_cap)
    summary = ((known and known()) or extract_sitrep(messages[:start])) if start > 0 else None
    new_system, sitrep_tokens = _inject(system, system_tokens, summary, spare)
    if sitrep_cap is not None:
        # What the SITREP left unused goes back to the tail (room for the turns to come kept).
        grown = _choose_tail_leaving(
            messages, counts, anchor_end, minimal, budget - fixed - count_tokens(new_system or "") - anchor_tokens,
            _regrowth(counts, budget),
        )
        if grown is not None and grown < start:
            start = grown
    kept = messages[:anchor_end] + messages[start:]
    dropped = len(messages) - len(kept)
    cut_tokens = 0
    if sitrep_cap is None and spare < 0:
        new_system, kept, cut_tokens = _cut_to_fit(system, kept, anchor_end, messages, start, budget, tools)
    bridge_turn = bridge_message(dropped, with_sitrep=sitrep_tokens > 0) if dropped and _needs_bridge(messages, anchor_end, start) else None
    if bridge_turn is not None:
        kept.insert(anchor_end, bridge_turn)
    kept_tokens = fixed + count_tokens(new_system or "") + sum(count_message_tokens(m) for m in kept)
    dropped_tokens = sum(counts[anchor_end:start]) + cut_tokens
    made = None
    if dropped and not cut_tokens:
        made = Cut(budget, system, new_system, start, head_digest(messages[:start]), anchor_end, bridge_turn, sitrep_tokens > 0)
    return Compacted(kept, new_system, dropped, dropped_tokens, kept_tokens, sitrep_tokens > 0, made)


def _regrowth(counts: Sequence[int], budget: int) -> int:
    """What a new cut leaves free: ``REGROWTH_SHARE`` of the budget, or room for two more turns the
    size of the latest exchange (its last two messages) when that is more; half the budget at most."""
    return min(max(int(budget * REGROWTH_SHARE), 2 * sum(counts[-2:])), budget // 2)


def _choose_tail_leaving(
    messages: Sequence[Message], counts: Sequence[int], anchor_end: int, minimal: int, room: int, regrowth: int
) -> int | None:
    """The earliest tail start that leaves ``regrowth`` of ``room`` free, else the earliest that fits."""
    leaving = _choose_tail(messages, counts, anchor_end, minimal, room - regrowth) if regrowth else None
    return leaving if leaving is not None else _choose_tail(messages, counts, anchor_end, minimal, room)


def _cut_again(previous: Cut, messages: list[Message], counts: list[int], fixed: int, budget: int) -> Compacted | None:
    """The conversation cut where ``previous`` cut it, when that still fits ``budget``."""
    start, anchor_end = previous.start, previous.anchor_end
    if not _fits_after(messages, anchor_end, start) or _needs_bridge(messages, anchor_end, start) != (previous.bridge is not None):
        return None  # the tail's first message is not what it was (the digest reads the head only)
    kept = [*messages[:anchor_end], *([previous.bridge] if previous.bridge else []), *messages[start:]]
    bridge_tokens = count_message_tokens(previous.bridge) if previous.bridge else 0
    kept_tokens = fixed + count_tokens(previous.compacted_system or "") + sum(counts[:anchor_end]) + bridge_tokens + sum(counts[start:])
    if kept_tokens > budget:
        return None
    dropped = start - anchor_end
    return Compacted(kept, previous.compacted_system, dropped, sum(counts[anchor_end:start]), kept_tokens, previous.sitrep_injected, previous)


def _inject(system: str | None, system_tokens: int, summary: Sitrep | None, room: int) -> tuple[str | None, int]:
    """Append the rendered SITREP to the system prompt within ``room`` tokens: (system, its cost)."""
    if summary is None or room <= 0:
        return system, 0
    limit = room
    while limit > 0:
        block = render_sitrep(summary, max_tokens=limit)
        if not block:
            return system, 0
        joined = f"{system}\n\n{block}" if system else block
        cost = count_tokens(joined) - system_tokens
        if cost <= room:
            return joined, cost
        limit -= cost - room  # joining can cost a token or two more than the parts
    return system, 0


def _cut_to_fit(
    system: str | None,
    kept: list[Message],
    anchor_end: int,
    messages: list[Message],
    start: int,
    budget: int,
    tools: list[Tool],
) -> tuple[str | None, list[Message], int]:
    """Last resort: cut the system prompt, then the text of the answered assistant turn."""
    fixed = REQUEST_OVERHEAD + sum(count_tool_tokens(t) for t in tools)
    bridge = _BRIDGE_TOKENS if _needs_bridge(messages, anchor_end, start) else 0
    over = fixed + bridge + count_tokens(system or "") + sum(count_message_tokens(m) for m in kept) - budget
    cut = 0
    if over > 0 and system:
        before = count_tokens(system)
        system = truncate_text(system, max(0, before - over)) or None
        cut = before - count_tokens(system or "")
        over -= cut
    if over > 0 and kept and kept[0].role == "assistant":
        answered = kept[0]
        before = count_message_tokens(answered)
        texts = [b.text for b in answered.content if isinstance(b, TextBlock)]
        text_room = sum(count_tokens(t) for t in texts) - over
        shortened = truncate_text("\n".join(texts), text_room) if text_room > 0 else ""
        blocks: list[Block] = []
        for block in answered.content:  # thinking and tool calls stay as they are, in order
            if not isinstance(block, TextBlock):
                blocks.append(block)
            elif shortened:
                blocks.append(TextBlock(shortened))
                shortened = ""
        kept[0] = Message("assistant", blocks)
        cut += before - count_message_tokens(kept[0])
    return system, kept, cut
