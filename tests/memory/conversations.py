"""Hypothesis strategies for valid conversations, and the validity rules the APIs enforce."""

from __future__ import annotations

from hypothesis import strategies as st

from trooper.conversation import Message, TextBlock, ToolResultBlock, ToolUseBlock

_WORDS = ["pool", "timeout", "leak", "the", "connection", "fixed", "PR", "#3", "deploy", "error", "src/app.py", "5000ms"]


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Short sentences mostly, now and then a very long turn (a pasted log or file)."""
    words = draw(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=12))
    sentence = " ".join(words)
    repeat = draw(st.sampled_from([1, 1, 1, 3, 20, 80]))
    return ". ".join([sentence] * repeat)


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    """Rounds of a user turn, optional tool-call loops, an assistant reply; ends on a user turn."""
    messages: list[Message] = []
    rounds = draw(st.integers(1, 10))
    for round_index in range(rounds):
        messages.append(Message("user", [TextBlock(draw(texts()))]))
        for step in range(draw(st.integers(0, 3))):
            ids = [f"t{round_index}_{step}_{i}" for i in range(draw(st.integers(1, 2)))]
            lead = [TextBlock(draw(texts()))] if draw(st.booleans()) else []
            messages.append(Message("assistant", lead + [ToolUseBlock(i, "bash", {"command": draw(texts())}) for i in ids]))
            messages.append(Message("user", [ToolResultBlock(i, [TextBlock(draw(texts()))]) for i in ids]))
        last_round = round_index == rounds - 1
        if not last_round or (messages[-1].tool_results() and draw(st.booleans())):
            messages.append(Message("assistant", [TextBlock(draw(texts()))]))
    if messages[-1].role == "assistant":
        messages.append(Message("user", [TextBlock(draw(texts()))]))
    return messages


def validity_problems(messages: list[Message]) -> list[str]:
    """What the Anthropic and OpenAI APIs would reject in this message list."""
    problems = []
    if not messages or messages[0].role != "user":
        problems.append("does not start with a user turn")
    for index, message in enumerate(messages):
        if index and message.role == messages[index - 1].role:
            problems.append(f"two {message.role} turns in a row at {index}")
        results = {r.tool_use_id for r in message.tool_results()}
        if results:
            calls = {u.id for u in messages[index - 1].tool_uses()} if index else set()
            if not results <= calls:
                problems.append(f"tool result without its call at {index}")
        uses = {u.id for u in message.tool_uses()}
        if uses and index + 1 < len(messages):
            answered = {r.tool_use_id for r in messages[index + 1].tool_results()}
            if uses != answered:
                problems.append(f"tool call without its result at {index}")
    return problems
