"""The chat page's API under TROOPER_PRIVACY=local: a message holding a secret is answered locally
and marks the session; escalating it asks for confirmation naming what was found (never the
value), and only a confirmed escalation reaches the cloud, recorded as an event."""

from __future__ import annotations

import httpx

from tests.chat_sse import new_session, post_sse
from tests.fakes.behaviours import reply_text

AWS_KEY = "AKIAQ3EGRTW5J2KD7XPL"


def test_escalating_a_pinned_chat_asks_first(chat):
    server, client, claude, ollama = chat
    sid = new_session(client)
    ollama.default = reply_text("Rotate it.")
    events = post_sse(client, f"/sessions/{sid}/messages", {"content": f"I pasted my key {AWS_KEY} in a public repo, what now?",
                                                             "route": "cloud"})
    done = events[-1][1]
    assert done["provider"] == "ollama" and done["decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    assert done["private"] == [{"finding": "aws_access_key"}]

    asked = post_sse(client, f"/sessions/{sid}/escalate")
    assert [name for name, _ in asked] == ["confirm"]
    assert asked[0][1]["findings"] == [{"finding": "aws_access_key", "category": "secret", "turn": 0}]
    assert "aws_access_key (turn 1)" in asked[0][1]["message"] and AWS_KEY not in asked[0][1]["message"]
    assert claude.requests == []

    claude.default = reply_text("Revoke it in IAM now.")
    confirmed = post_sse(client, f"/sessions/{sid}/escalate", {"confirm": True})
    assert confirmed[0] == ("escalated", {"route": "local", "to": "claude"})
    assert confirmed[-1][1]["provider"] == "claude"
    assert len(claude.requests) == 1

    session = client.get(f"/sessions/{sid}").json()
    assert session["private"] == [{"finding": "aws_access_key", "category": "secret", "turn": 0}]
    kinds = [e["kind"] for e in session["events"]]
    assert "privacy_pinned" in kinds and "privacy_escalation_confirmed" in kinds

    # the next message stays local: the confirmation was for one answer
    post_sse(client, f"/sessions/{sid}/messages", {"content": "and what about the old commits?"})
    assert len(claude.requests) == 1
    assert httpx.get(f"{server.url}/health").json()["privacy"]["policy"] == "local"

