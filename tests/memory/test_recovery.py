"""Subagent recovery: where to resume, what is open, and a compacted context in plain JSON."""

from __future__ import annotations

import json

from tests.memory.corpus import load_corpus
from trooper.conversation import Message, TextBlock
from trooper.memory.recovery import build_recovery, next_step
from trooper.memory.tokens import count_tokens

SESSIONS = {session.id: session for session in load_corpus()}


def test_three_completed_prs_resume_from_step_four():
    recovery = build_recovery("s-1", SESSIONS["pr-series-completed"].messages, 4_000)
    assert set(recovery) == {"session_id", "completed_steps", "resume_from", "recovery_hint", "open_loops", "intent", "context"}
    assert recovery["session_id"] == "s-1"
    assert recovery["resume_from"] == 4
    assert recovery["recovery_hint"] == "Resume from step 4"
    assert len(recovery["completed_steps"]) == 3


def test_open_loops_reach_the_hint():
    recovery = build_recovery("s-2", SESSIONS["postgres-pool-go"].messages, 4_000)
    resume = len(recovery["completed_steps"]) + 1
    assert recovery["recovery_hint"].startswith(f"Resume from step {resume}; still open: ")
    assert any("leak" in loop for loop in recovery["open_loops"])
    assert recovery["intent"] == "building a postgres connection pool in go"


def test_context_is_plain_json_within_the_budget():
    messages = [Message("user", [TextBlock("i am building a postgres connection pool in go")])]
    for index in range(40):
        messages.append(Message("assistant", [TextBlock(f"Completed step {index + 1}. " + "details " * 100)]))
        messages.append(Message("user", [TextBlock("next " + "notes " * 100)]))
    recovery = build_recovery("s-3", messages, 1_500)
    assert json.loads(json.dumps(recovery)) == recovery
    context = recovery["context"]
    assert context[0]["role"] == "system" and "[TROOPER_SITREP]" in context[0]["content"]
    assert context[1] == {"role": "user", "content": "i am building a postgres connection pool in go"}
    assert context[-1]["role"] == "user"
    assert sum(count_tokens(entry["content"]) for entry in context) <= 1_500
    assert recovery["resume_from"] == 41


def test_next_step_counts_unnumbered_steps():
    assert next_step([]) == 1
    assert next_step(["deployed to staging", "fixed the 422"]) == 3
    assert next_step(["Merged PR #41", "Merged PR #43"]) == 44


def test_empty_session_recovers_to_nothing():
    recovery = build_recovery("empty", [], 1_000)
    assert recovery["context"] == [] and recovery["resume_from"] == 1
