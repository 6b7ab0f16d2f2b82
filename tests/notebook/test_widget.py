"""The ChatWidget headless: buttons clicked through their programmatic twins, against a real Trooper."""

from __future__ import annotations

import json

import httpx

from tests.fakes.behaviours import echo, reply_text
from tests.notebook.conftest import ChatSetup
from trooper.notebook.client import ChatClient
from trooper.notebook.connection import Server
from trooper.notebook.widget import ChatWidget, sitrep_html


def make_widget(setup: ChatSetup, session_id: str = "") -> ChatWidget:
    return ChatWidget(ChatClient(Server(setup.url)), session_id)


def test_send_streams_the_answer_without_blocking_the_caller(chat_setup):
    chat_setup.ollama.enqueue(reply_text("one two three four five six", chunk_delay=0.15))
    widget = make_widget(chat_setup)
    partials: list[str] = []
    widget.observe(lambda change: partials.append(change["new"]), names="streaming_text")

    widget.prompt.value = "count to six"
    widget.send_button.click()
    assert widget.busy, "send returns while the answer is still streaming"
    assert widget.send_button.disabled and widget.escalate_button.disabled
    widget.wait(30)

    assert not widget.busy and widget.error == ""
    assert widget.prompt.value == ""
    streamed = [p for p in partials if p]
    assert len(streamed) >= 2 and streamed[0] != streamed[-1], f"published token by token: {partials}"
    assert all("one two three four five six".startswith(p) for p in streamed)
    user, answer = widget.messages
    assert user == {"role": "user", "text": "count to six", "html": user["html"]}
    assert answer["text"] == "one two three four five six"
    assert answer["provider"] == "ollama" and answer["tier"] == "local"
    assert "local" in answer["label"] and answer["label"] in widget.history.value
    assert widget.session_id.startswith("chat-")
    assert chat_setup.ollama.last_request.messages[-1]["content"] == "count to six"
    assert chat_setup.claude.requests == []


def test_escalate_and_back_to_local(chat_setup):
    setup = chat_setup
    widget = make_widget(setup)
    setup.ollama.enqueue(reply_text("A pool of 10."))
    widget.send("how big should my postgres pool be?").wait(30)
    assert widget.route == "local" and widget.local_button.disabled

    setup.claude.enqueue(reply_text("Claude says: PgBouncer with 20."))
    widget.escalate_button.click()
    widget.wait(30)
    assert widget.route == "cloud" and "cloud" in widget.route_indicator.value
    assert not widget.local_button.disabled
    roles = [m["role"] for m in widget.messages]
    assert roles == ["user", "assistant", "divider", "assistant"]
    cloud = widget.messages[-1]
    assert cloud["provider"] == "claude" and cloud["tier"] == "cloud"
    assert "Escalated" in widget.messages[2]["text"]
    assert "how big should my postgres pool be?" in json.dumps(setup.claude.last_request.json)

    widget.local_button.click()
    assert widget.route == "local" and widget.messages[-1] == {
        "role": "divider", "text": "↩ Back to local", "html": widget.messages[-1]["html"]}
    setup.ollama.enqueue(echo(lambda r: "Saw PgBouncer" if "PgBouncer" in json.dumps(r.json) else "missed it"))
    widget.send("summarize").wait(30)
    assert widget.messages[-1]["text"] == "Saw PgBouncer" and widget.messages[-1]["tier"] == "local"

    # The same session as the server and a freshly opened widget see it.
    state = httpx.get(f"{setup.url}/api/chat/sessions/{widget.session_id}").json()
    assert state["route"] == "local"
    reopened = make_widget(setup, widget.session_id)
    assert [m["role"] for m in reopened.messages] == [m["role"] for m in widget.messages]
    assert reopened.sitrep and reopened.sitrep_panel.value.startswith("<div")


def test_malicious_answer_is_synced_sanitised(chat_setup):
    chat_setup.ollama.enqueue(reply_text('<img src=x onerror=alert(1)> and <script>alert(2)</script> **bold**'))
    widget = make_widget(chat_setup)
    widget.send("<b>user markup</b>").wait(30)
    synced = widget.history.value
    assert "<img" not in synced and "<script" not in synced and "<b>user markup</b>" not in synced
    assert "&lt;img" in synced and "&lt;b&gt;user markup&lt;/b&gt;" in synced
    assert "<strong>bold</strong>" in synced, "Markdown is still rendered"


def test_streaming_text_is_shown_escaped():
    widget = ChatWidget(ChatClient(Server("http://127.0.0.1:9")))
    widget.streaming_text = "<img src=x onerror=alert(1)>"
    assert "<img" not in widget.live.value and "&lt;img" in widget.live.value
    widget.streaming_text = ""
    assert widget.live.value == ""


def test_a_failed_escalation_is_shown_not_hidden(fake_ollama, make_trooper):
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)  # no cloud key
    widget = ChatWidget(ChatClient(Server(server.url)))
    widget.send("hello").wait(30)
    widget.escalate().wait(30)
    assert "CLAUDE_API_KEY" in widget.error and "CLAUDE_API_KEY" in widget.error_label.value
    assert [m["role"] for m in widget.messages] == ["user", "assistant"] and widget.route == "local"


def test_unreachable_server_sets_the_error_trait():
    widget = ChatWidget(ChatClient(Server("http://127.0.0.1:9")))
    widget.send("anyone there?").wait(10)
    assert widget.error.startswith("ConnectError") and not widget.busy


def test_sitrep_panel_is_compact_and_escaped():
    html = sitrep_html({"intent": "fix <b>pool</b>", "confidence": 0.72, "entities": ["postgres", "<x>"],
                        "open_loops": ["size the pool"]})
    assert "72%" in html and "&lt;b&gt;pool" in html and "&lt;x&gt;" in html and "size the pool" in html
    assert sitrep_html({}) == ""


def test_sitrep_panel_shows_steps_with_their_evidence_escaped():
    html = sitrep_html({
        "intent": "fix the pool", "completed_steps": ["pytest tests pass: 12 passed"],
        "open_loops": ["<img src=x onerror=alert(1)> still leaks"],
        "evidence": {"pytest tests pass: 12 passed": {"turn": 4, "text": 'bash (pytest -q) "quoted" <b>'}},
    })
    assert "done: <span title=\"turn 5: bash (pytest -q) &quot;quoted&quot; &lt;b&gt;\">pytest tests pass: 12 passed</span>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt; still leaks" in html


def test_the_widget_says_when_the_demo_model_answers(fake_ollama, make_trooper, monkeypatch):
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    assert ChatWidget(ChatClient(Server(server.url))).notice.value == "", "Ollama answers: no notice"
    monkeypatch.setattr(ChatClient, "health", lambda self: {"local": {"tier": "embedded", "model": "smollm2"}})
    notice = ChatWidget(ChatClient(Server(server.url))).notice.value
    assert "demo model" in notice and "ollama pull" in notice and "trooper.configure" in notice


def test_the_chat_widget_asks_before_escalating_private_data(chat_setup):
    widget = make_widget(chat_setup)
    chat_setup.ollama.default = reply_text("Rotate it.")
    widget.send("my key AKIAQ3EGRTW5J2KD7XPL leaked").wait(30)
    widget.escalate_button.click()
    widget.wait(30)
    assert "aws_access_key (turn 1)" in widget.confirmation and "AKIAQ3EGRTW5J2KD7XPL" not in widget.confirmation
    assert widget.escalate_button.description == "↑ Escalate anyway" and chat_setup.claude.requests == []

    chat_setup.claude.default = reply_text("Revoke it now.")
    widget.escalate_button.click()  # the second click confirms
    widget.wait(30)
    assert widget.confirmation == "" and widget.messages[-1]["text"] == "Revoke it now."
    assert len(chat_setup.claude.requests) == 1
