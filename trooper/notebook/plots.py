"""``plot_session``: one session's timeline from the DataFrames.

Each answer is a dot on its provider's row; failed upstream attempts (the ones a fallback
recovered from) are red crosses on the provider that failed; escalations and returns to local
are vertical lines. Reads ``trooper.notebook.dataframes``, which the notebook workspace connects to the server
the kernel chats with.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from trooper.wording import counted

EVENT_LINES = {"escalated": ("#1565c0", "-", "escalated"), "returned": ("#2e7d32", "--", "back to local")}
#: The narrowest time axis drawn: a session whose moments all fall closer together than this is
#: shown this wide, centred on them (matplotlib would widen a single moment to four years).
MIN_AXIS_SPAN = timedelta(minutes=2)


def plot_session(session_id: str, ax: Any = None) -> Any:
    """Draw the session's timeline on ``ax`` (a new figure when None) and return the figure."""
    import matplotlib.pyplot as plt

    import trooper.notebook.dataframes as tf

    turns = tf.turns(session_id)
    attempts = tf.attempts(session_id)
    events = tf.events(session_id)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    answers = turns[turns.role == "assistant"]
    providers = sorted({*map(str, answers.provider.dropna()), *map(str, attempts.provider.dropna())})
    rows = {provider: index for index, provider in enumerate(providers)}
    for provider, group in answers.groupby("provider", observed=True):
        ax.scatter(group.created_at, [rows[str(provider)]] * len(group), s=60, label=f"answer · {provider}", zorder=3)
    failed = attempts[attempts.outcome == "error"]
    if len(failed):
        ax.scatter(failed.created_at, [rows[str(p)] for p in failed.provider], marker="x", s=80, color="#b00020",
                   label="failed attempt (fell back)", zorder=4)
    for kind, (color, style, label) in EVENT_LINES.items():
        for index, moment in enumerate(events[events.kind == kind].created_at):
            ax.axvline(moment, color=color, linestyle=style, alpha=0.7, label=label if index == 0 else None)
    _keep_time_axis_readable(ax, [*answers.created_at, *failed.created_at, *events.created_at])
    ax.set_yticks(range(len(providers)), providers)
    ax.set_ylim(-0.5, max(len(providers), 1) - 0.5)
    ax.set_title(f"Session {session_id}: {counted(len(answers), 'answer')}, {counted(len(failed), 'failed attempt')}")
    ax.set_xlabel("time (UTC)")
    if answers.size or failed.size:
        ax.legend(loc="upper left", fontsize="small", bbox_to_anchor=(1.01, 1.0))
    ax.figure.autofmt_xdate()
    ax.figure.tight_layout()
    return ax.figure


def _keep_time_axis_readable(ax: Any, moments: list[Any]) -> None:
    """Widen the time axis to ``MIN_AXIS_SPAN`` around ``moments`` when they span less."""
    if not moments:
        return
    first, last = min(moments), max(moments)
    if last - first < MIN_AXIS_SPAN:
        middle = first + (last - first) / 2
        ax.set_xlim(middle - MIN_AXIS_SPAN / 2, middle + MIN_AXIS_SPAN / 2)
