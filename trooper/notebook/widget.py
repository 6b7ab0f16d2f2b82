"""``ChatWidget``: Trooper's chat in a notebook, as a composition of standard ipywidgets.

Every piece of model or user text reaches the page escaped (``html.escape``) or rendered by
``trooper.markdown_html.render_markdown`` (sanitised HTML): never as raw HTML. Answers stream in a
background thread so the kernel stays free; the thread publishes the partial text at most every
``STREAM_PUBLISH_INTERVAL`` seconds, because each trait change is a message to the browser.

Every button has a programmatic twin (``send``, ``escalate``, ``back_to_local``), and ``wait()``
blocks until the current answer is complete, so the widget works (and is tested) headless.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable, Iterator

import httpx
import ipywidgets as widgets
from traitlets import Bool, Dict, List, Unicode, observe

from trooper.markdown_html import render_markdown
from trooper.notebook.client import Answer, ChatClient, ChatEvent

STREAM_PUBLISH_INTERVAL = 0.05
SITREP_MAX_ITEMS = 6

_ANSWER_STYLE = "border-left:3px solid {color};padding:2px 8px;margin:6px 0"
_TIER_COLORS = {"local": "#2e7d32", "cloud": "#1565c0"}
_MUTED = "color:#666;font-size:85%"
#: Shown above the chat when the embedded demo model is the local tier: the first thing to know.
DEMO_NOTICE = (
    "A demo model is answering: SmolLM2-135M shows how Trooper works and gets facts wrong. For real "
    "answers, start Ollama (ollama pull llama3.1:8b; Trooper picks it up within a minute), or add a "
    "cloud key with trooper.configure(claude_api_key=...) and press ↑ Escalate."
)


class ChatWidget(widgets.VBox):
    """Chat with Trooper: local first, ``↑ Escalate`` to the cloud, ``↩ Back to local``."""

    session_id = Unicode("", help="The chat session shown; created on the first message when empty.")
    route = Unicode("local", help="The session's route: 'local' until escalated, then 'cloud'.")
    busy = Bool(False, help="True while an answer streams; the buttons are disabled meanwhile.")
    streaming_text = Unicode("", help="The answer being streamed, as plain text (shown escaped).")
    messages = List(
        Dict(),
        help="The history: dicts with role ('user', 'assistant' or 'divider'), text, html (sanitised) and, "
        "for answers, provider, model, tier, label and decision.",
    )
    sitrep = Dict(help="The session's SITREP: intent, confidence, entities, open_loops, ...")
    error = Unicode("", help="The last error (a failed request or an answer that was cut off), or ''.")
    confirmation = Unicode("", help="What the server asks before escalating a session holding private data, or ''.")

    def __init__(self, client: ChatClient, session_id: str = "", **kwargs: Any) -> None:
        self.client = client
        self._worker: threading.Thread | None = None
        self.notice = widgets.HTML(self._demo_notice())
        self.route_indicator = widgets.HTML()
        self.history = widgets.HTML()
        self.live = widgets.HTML()
        self.error_label = widgets.HTML()
        self.sitrep_panel = widgets.HTML()
        self.prompt = widgets.Textarea(placeholder="Ask Trooper…", layout=widgets.Layout(width="100%"))
        self.send_button = widgets.Button(description="Send", button_style="primary")
        self.escalate_button = widgets.Button(description="↑ Escalate", tooltip="Answer the last question with the cloud")
        self.local_button = widgets.Button(description="↩ Back to local", tooltip="Answer the next turns locally")
        self.send_button.on_click(lambda _: self.send())
        self.escalate_button.on_click(lambda _: self.escalate(confirm=bool(self.confirmation)))
        self.local_button.on_click(lambda _: self.back_to_local())
        buttons = widgets.HBox([self.send_button, self.escalate_button, self.local_button, self.route_indicator])
        super().__init__(
            [self.notice, self.history, self.live, self.error_label, self.prompt, buttons, self.sitrep_panel], **kwargs
        )
        self.session_id = session_id
        if session_id:
            self.refresh()
        self._show_route()
        self._show_buttons()

    # ------------------------------------------------------------ programmatic twins of the buttons

    def send(self, text: str | None = None) -> ChatWidget:
        """Send ``text`` (default: the Textarea's content) and stream the answer."""
        content = (self.prompt.value if text is None else text).strip()
        if not content or self.busy:
            return self
        self.prompt.value = ""
        self.messages = [*self.messages, {"role": "user", "text": content, "html": _user_html(content)}]

        def events() -> Iterator[ChatEvent]:
            if not self.session_id:
                self.session_id = self.client.create_session()
            return self.client.send(self.session_id, content)

        self._stream_in_background(events)
        return self

    def escalate(self, confirm: bool = False) -> ChatWidget:
        """Answer the last question again with the cloud; later turns go to the cloud too. A
        session holding private data is escalated only with ``confirm`` (the button asks first:
        ``confirmation`` says what was found, and the next click confirms)."""
        if not self.session_id or self.busy:
            return self
        self.confirmation = ""
        self._stream_in_background(lambda: self.client.escalate(self.session_id, confirm=confirm))
        return self

    def back_to_local(self) -> ChatWidget:
        """Answer the next turns with the local model, which receives everything the cloud said."""
        if not self.session_id or self.busy or self.route == "local":
            return self
        self._guard(lambda: self._returned(self.client.back_to_local(self.session_id)))
        return self

    def wait(self, timeout: float = 120.0) -> ChatWidget:
        """Block until the answer in flight (if any) is complete."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"the answer did not complete within {timeout} s")
        return self

    def refresh(self) -> ChatWidget:
        """Reload history, route and SITREP from the server (e.g. after ``%%trooper`` cells)."""
        self._guard(lambda: self._load(self.client.session(self.session_id)))
        return self

    # ------------------------------------------------------------ streaming

    def _stream_in_background(self, events: Callable[[], Iterator[ChatEvent]]) -> None:
        self.busy = True
        self.error = ""
        self._worker = threading.Thread(target=self._consume, args=(events,), name="trooper-chat-stream", daemon=True)
        self._worker.start()

    def _consume(self, events: Callable[[], Iterator[ChatEvent]]) -> None:
        answer = Answer()
        published = 0.0
        try:
            for event in events():
                answer.add(event)
                if event.kind == "escalated":
                    self.route = "cloud"
                    self._add_divider("↑ Escalated to the cloud")
                now = time.monotonic()
                if event.kind == "delta" and now - published >= STREAM_PUBLISH_INTERVAL:
                    self.streaming_text, published = answer.text, now
            self._finish(answer)
        except Exception as exc:  # shown in the widget: a background thread has no cell to fail
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.streaming_text = ""
            self.busy = False

    def _finish(self, answer: Answer) -> None:
        if answer.confirm is not None:
            self.confirmation = str(answer.confirm.get("message", "This conversation holds private data. Escalate anyway?"))
            return
        if answer.error is not None:
            self.error = answer.error
            return
        if answer.done is None:
            self.error = "the answer ended without a result"
            return
        done = answer.done
        self.messages = [*self.messages, _answer_entry(answer.text, done)]
        self.sitrep = dict(done.get("sitrep") or {})
        self.route = str(done.get("route") or self.route)

    def _returned(self, route: str) -> None:
        self.route = route
        self._add_divider("↩ Back to local")

    def _add_divider(self, text: str) -> None:
        self.messages = [*self.messages, {"role": "divider", "text": text, "html": _divider_html(text)}]

    def _guard(self, action: Callable[[], None]) -> None:
        try:
            self.error = ""
            action()
        except Exception as exc:  # a widget callback must not raise into the comm handler
            self.error = f"{type(exc).__name__}: {exc}"

    def _demo_notice(self) -> str:
        """The demo notice when the embedded model is the local tier, else nothing."""
        try:
            local = self.client.health().get("local") or {}
        except (httpx.HTTPError, ValueError):
            return ""  # the widget works without it; the first send says what is wrong
        if local.get("tier") != "embedded":
            return ""
        return f'<div style="{_MUTED};border-left:3px solid #f0a000;padding-left:6px">{html.escape(DEMO_NOTICE)}</div>'

    def _load(self, state: dict[str, Any]) -> None:
        self.route = str(state.get("route") or "local")
        self.sitrep = dict(state.get("sitrep") or {})
        self.messages = _history(state.get("messages", []), state.get("events", []))

    # ------------------------------------------------------------ views of the traits

    @observe("messages")
    def _show_history(self, change: dict[str, Any]) -> None:
        self.history.value = "".join(entry["html"] for entry in self.messages)

    @observe("streaming_text")
    def _show_live(self, change: dict[str, Any]) -> None:
        text = self.streaming_text
        self.live.value = f'<pre style="white-space:pre-wrap;{_MUTED}">{html.escape(text)}</pre>' if text else ""

    @observe("error")
    def _show_error(self, change: dict[str, Any]) -> None:
        self.error_label.value = f'<div style="color:#b00020">⚠ {html.escape(self.error)}</div>' if self.error else ""

    @observe("confirmation")
    def _ask_to_confirm(self, change: dict[str, Any]) -> None:
        """The escalate button becomes the confirmation: the person sees what was found first."""
        asking = bool(self.confirmation)
        self.escalate_button.description = "↑ Escalate anyway" if asking else "↑ Escalate"
        self.error_label.value = f'<div style="color:#8a5a00">🔒 {html.escape(self.confirmation)}</div>' if asking else ""

    @observe("route")
    def _show_route(self, change: dict[str, Any] | None = None) -> None:
        tier = "cloud" if self.route == "cloud" else "local"
        color = _TIER_COLORS[tier]
        self.route_indicator.value = f'<span style="color:{color};font-weight:bold">route: {html.escape(self.route)}</span>'
        self._show_buttons()

    @observe("busy")
    def _show_buttons(self, change: dict[str, Any] | None = None) -> None:
        self.send_button.disabled = self.busy
        self.escalate_button.disabled = self.busy
        self.local_button.disabled = self.busy or self.route == "local"

    @observe("sitrep")
    def _show_sitrep(self, change: dict[str, Any]) -> None:
        self.sitrep_panel.value = sitrep_html(self.sitrep)


def _user_html(text: str) -> str:
    return f'<div style="margin:6px 0"><b>You</b><div style="white-space:pre-wrap">{html.escape(text)}</div></div>'


def _divider_html(text: str) -> str:
    return f'<div style="text-align:center;{_MUTED};border-top:1px dashed #999;margin:8px 0">{html.escape(text)}</div>'


def _answer_entry(text: str, info: dict[str, Any]) -> dict[str, Any]:
    tier = str(info.get("tier") or "local")
    label = str(info.get("label") or info.get("provider") or "")
    style = _ANSWER_STYLE.format(color=_TIER_COLORS.get(tier, "#999"))
    rendered = (
        f'<div style="{style}">{render_markdown(text)}'
        f'<div style="{_MUTED}">{html.escape(label)}</div></div>'
    )
    return {
        "role": "assistant",
        "text": text,
        "html": rendered,
        "provider": str(info.get("provider") or ""),
        "model": str(info.get("model") or ""),
        "tier": tier,
        "label": label,
        "decision": str(info.get("decision") or ""),
    }


_EVENT_DIVIDERS = {"escalated": "↑ Escalated to the cloud", "returned": "↩ Back to local"}


def _history(messages: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stored transcript with escalation dividers placed by time."""
    timeline: list[tuple[float, int, dict[str, Any]]] = []
    for order, message in enumerate(messages):
        text = str(message.get("text", ""))
        entry = (
            _answer_entry(text, message)
            if message.get("role") == "assistant"
            else {"role": "user", "text": text, "html": _user_html(text)}
        )
        timeline.append((float(message.get("created_at") or 0), order, entry))
    for event in events:
        divider = _EVENT_DIVIDERS.get(str(event.get("kind")))
        if divider is not None:
            timeline.append((float(event.get("created_at") or 0), -1, {"role": "divider", "text": divider,
                                                                       "html": _divider_html(divider)}))
    return [entry for _, _, entry in sorted(timeline, key=lambda item: (item[0], item[1]))]


def sitrep_html(sitrep: dict[str, Any]) -> str:
    """A compact, escaped SITREP: intent with confidence, entities, open loops, completed steps.

    Each loop and step carries the sentence it was read from, and its turn, as a tooltip.
    """
    if not any(sitrep.get(key) for key in ("intent", "entities", "open_loops", "completed_steps")):
        return ""
    evidence = sitrep.get("evidence") or {}

    def item(text: str) -> str:
        source = evidence.get(text)
        if not isinstance(source, dict) or not isinstance(source.get("turn"), int):
            return html.escape(text)
        tip = f"turn {source['turn'] + 1}: {source.get('text', '')}"
        return f'<span title="{html.escape(tip, quote=True)}">{html.escape(text)}</span>'

    rows = [f"<b>SITREP</b> intent: {html.escape(str(sitrep.get('intent') or '—'))} "
            f"({float(sitrep.get('confidence') or 0):.0%})"]
    entities = [str(entity) for entity in sitrep.get("entities") or []][:SITREP_MAX_ITEMS]
    if entities:
        rows.append("entities: " + ", ".join(html.escape(entity) for entity in entities))
    for name, key in (("open loops", "open_loops"), ("done", "completed_steps")):
        items = [str(entry) for entry in sitrep.get(key) or []][:SITREP_MAX_ITEMS]
        if items:
            rows.append(f"{name}: " + "; ".join(item(entry) for entry in items))
    return f'<div style="{_MUTED};border:1px solid #ddd;padding:4px 8px">' + "<br>".join(rows) + "</div>"
