"""Answers in a cell's output: streamed as plain text, then shown as sanitised HTML with metadata.

While an answer streams, the output shows it as ``text/plain`` (nothing is interpreted). The
finished answer is a ``RichAnswer``: ``text/html`` from ``render_markdown`` (sanitised), plain
text, and display metadata under ``"trooper"`` saying who answered and why. No ``text/markdown``
is offered: a frontend would render raw model text itself.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any, Iterable

from IPython.display import display

from trooper.markdown_html import render_markdown
from trooper.notebook.client import Answer, ChatEvent

STREAM_PUBLISH_INTERVAL = 0.1
METADATA_FIELDS = ("provider", "model", "tier", "label", "decision", "route")


class RichAnswer:
    """A finished answer; ``.text`` and ``.metadata`` for code, a rich display for people."""

    def __init__(self, answer: Answer, session_id: str) -> None:
        self.answer = answer
        self.session_id = session_id

    @property
    def text(self) -> str:
        return self.answer.text

    @property
    def metadata(self) -> dict[str, Any]:
        info = {name: self.answer.info(name) for name in METADATA_FIELDS}
        return {"session_id": self.session_id, "escalated": self.answer.escalated, "error": self.answer.error, **info}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict[str, str], dict[str, Any]]:
        label = str(self.answer.info("label") or self.answer.info("provider") or "")
        body = render_markdown(self.answer.text)
        plain = self.answer.text
        if self.answer.error is not None:
            body += f'<div style="color:#b00020">⚠ {html.escape(self.answer.error)}</div>'
            plain += f"\n[Trooper error: {self.answer.error}]"
        footer = f'<div style="color:#666;font-size:85%">{html.escape(label)}</div>' if label else ""
        data = {"text/html": f"<div>{body}{footer}</div>", "text/plain": plain + (f"\n— {label}" if label else "")}
        return data, {"trooper": self.metadata}

    def __repr__(self) -> str:
        return f"RichAnswer({self.text[:60]!r}, provider={self.answer.info('provider')!r})"


def stream_into_output(events: Iterable[ChatEvent], session_id: str) -> RichAnswer:
    """Show the answer growing in the output, then hand back the finished one to be displayed."""
    answer = Answer()
    handle = display({"text/plain": "…"}, raw=True, display_id=True)
    published = 0.0
    for event in events:
        answer.add(event)
        now = time.monotonic()
        if event.kind == "delta" and now - published >= STREAM_PUBLISH_INTERVAL:
            handle.update({"text/plain": answer.text}, raw=True)
            published = now
    # The returned RichAnswer is the cell's result; the streaming view steps aside for it.
    handle.update({"text/plain": ""}, raw=True)
    if answer.error is not None:
        print(f"Trooper: {answer.error}", file=sys.stderr)
    return RichAnswer(answer, session_id)
