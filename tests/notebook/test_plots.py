"""plot_session draws answers by provider, failed attempts and escalations from the DataFrames."""

from __future__ import annotations

from datetime import timedelta

import matplotlib
import matplotlib.dates as mdates

matplotlib.use("Agg")

import trooper.notebook.dataframes as tf
from tests.fakes.behaviours import out_of_credit, reply_text
from trooper.notebook import plot_session
from trooper.notebook.client import ChatClient
from trooper.notebook.connection import Server
from trooper.notebook.widget import ChatWidget


def test_timeline_of_a_session_with_an_escalation_and_a_fallback(chat_setup, monkeypatch):
    setup = chat_setup
    monkeypatch.setattr(tf, "_source", None)
    tf.connect(setup.url)
    widget = ChatWidget(ChatClient(Server(setup.url)))
    setup.ollama.enqueue(reply_text("local one"))
    widget.send("first question").wait(30)
    setup.claude.enqueue(reply_text("cloud one"))
    widget.escalate().wait(30)
    setup.claude.enqueue(out_of_credit())
    setup.ollama.enqueue(reply_text("local rescue"))
    widget.send("second question").wait(30)
    assert widget.messages[-1]["provider"] == "ollama"
    setup.server.flush()

    figure = plot_session(widget.session_id)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["claude", "ollama"]
    labels = ax.get_legend_handles_labels()[1]
    assert "answer · claude" in labels and "answer · ollama" in labels
    assert "failed attempt (fell back)" in labels and "escalated" in labels
    assert ax.get_title() == f"Session {widget.session_id}: 3 answers, 1 failed attempt"


def test_a_one_answer_session_gets_a_minutes_wide_axis_not_four_years(chat_setup, monkeypatch):
    setup = chat_setup
    monkeypatch.setattr(tf, "_source", None)
    tf.connect(setup.url)
    widget = ChatWidget(ChatClient(Server(setup.url)))
    setup.ollama.enqueue(reply_text("the only answer"))
    widget.send("one question").wait(30)
    setup.server.flush()

    figure = plot_session(widget.session_id)
    left, right = (mdates.num2date(limit) for limit in figure.axes[0].get_xlim())
    answered = tf.turns(widget.session_id).created_at.iloc[-1]
    assert left < answered < right
    assert right - left <= timedelta(minutes=10)
    assert figure.axes[0].get_title() == f"Session {widget.session_id}: 1 answer, 0 failed attempts"
