"""A conversation's summary asked of a model, for a client that asked for the conversation
compacted: Codex's remote compaction (``POST /v1/responses/compact``, answered in OpenAI's
compaction shape) and Claude's compaction request (``compaction`` in a Messages body) when a model
other than Claude answers it (the answer then becomes a compaction block: ``wire/compaction.py``).

The model is asked in one more user turn after the conversation; the conversation's tool calls
and results are given as text (the summary's turn offers no tools) and its thinking is left out
(private to the turn it was made in).
"""

from __future__ import annotations

from dataclasses import replace

from trooper.conversation import Block, Message, Request, TextBlock, ThinkingBlock, ToolResultBlock, ToolUseBlock

#: The turn that asks for the summary, unless the client gives its own instructions.
COMPACTION_PROMPT = (
    "Compact this conversation: write a summary another model can continue the work from, with "
    "no other record of it. Give the user's goal and constraints, the decisions made and why, "
    "the files, commands and names that matter, what is done, what is still open or failing, and "
    "the next step. Be concise and factual; do not call tools; answer with the summary only."
)


def summary_request(request: Request, instructions: str | None = None) -> Request:
    """``request`` as the turn asking its model for the conversation's summary: the conversation
    told as text, then the prompt (``instructions`` when given, not blank), and nothing that
    would shape another kind of answer (tools, a structured format, thinking, a compaction ask)."""
    told = [message for message in map(told_as_text, request.messages) if message.content]
    prompt = instructions if instructions and instructions.strip() else COMPACTION_PROMPT
    return replace(
        request, messages=[*told, Message("user", [TextBlock(prompt)])],
        tools=[], tool_choice=None, hosted_tools=[], hosted_tool_choice=None, output_format=None, thinking=None,
        anthropic_options={name: value for name, value in request.anthropic_options.items() if name != "compaction"},
    )  # fmt: skip


def told_as_text(message: Message) -> Message:
    """``message`` with its tool calls and results as text and without thinking."""
    blocks: list[Block] = []
    for block in message.content:
        if isinstance(block, (ToolUseBlock, ToolResultBlock)):
            blocks.append(TextBlock(block.as_text()))
        elif not isinstance(block, ThinkingBlock):
            blocks.append(block)
    return Message(message.role, blocks)
