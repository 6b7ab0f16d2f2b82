"""The turn runner with scripted providers and a real store, no HTTP: what a turn leaves in its
session and when — the question once the first event is out, the answer committed before the
stream's ``MessageStop`` (or a ``StreamError`` in its place when it cannot be stored), nothing of
an answer the caller stopped reading or that was cut off."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest

from tests.scripted import Answer, CutAfter, ScriptedProvider, collect
from trooper.config import Settings
from trooper.conversation import Message, MessageStop, Request, Response, StreamError, TextBlock, TextDelta
from trooper.engine.live import LiveFeed
from trooper.engine.sessions import LiveSession, SessionService, TurnPlace
from trooper.engine.turn_runner import Turn, TurnRunner
from trooper.memory.identity import ClientIds
from trooper.routing.admission import StreamLimiter
from trooper.routing.router import Router
from trooper.store import open_store, sqlite_writes
from trooper.store.base import Store
from trooper.store.records import TurnRecord

SETTINGS = Settings(db_path=":memory:", retry_backoff=0.0, first_token_timeout=0.5, idle_timeout=0.5)
QUESTION = "write a long design review of this module"


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    store = open_store(SETTINGS)
    yield store
    await store.close()


def runner_over(store: Store, *cloud: ScriptedProvider) -> TurnRunner:
    router = Router(SETTINGS, list(cloud), lambda: None)
    sessions = SessionService(store, LiveFeed(), would_answer=lambda: None, prices=SETTINGS.prices)
    return TurnRunner(router, sessions, StreamLimiter(4, 4, 0.0), SETTINGS)


async def open_turn(runner: TurnRunner, session_id: str, *, stream: bool) -> Turn:
    request = Request("claude-haiku-4-5", [Message("user", [TextBlock(QUESTION)])], max_tokens=64, stream=stream)
    session = await runner.session_for(request, ClientIds(session_id), "anthropic", "")
    return runner.open(session, request, client="127.0.0.1|", question=request.messages)


async def stored(store: Store, session_id: str) -> list[tuple[str, str]]:
    await store.flush()
    return [(t["role"], "".join(b.get("text", "") for b in t["content"])) for t in await store.transcript(session_id)]


async def test_a_streamed_turn_is_committed_before_its_message_stop_reaches_the_door(store: Store) -> None:
    runner = runner_over(store, ScriptedProvider("claude", script=[Answer("a thorough review")]))
    turn = await open_turn(runner, "s", stream=True)
    plan = runner.plan(turn, "cloud")
    seen: list[tuple[str, list]] = []
    events = runner.stream(turn, plan)
    async for event in events:
        # Read straight from the store: what is committed when the door gets each event.
        seen.append((type(event).__name__, await store.transcript("s")))
    assert [name for name, _ in seen][-1] == "MessageStop"
    assert seen[0][1] == [], "nothing is recorded before the first event is out"
    assert [t["role"] for t in seen[-1][1]] == ["user", "assistant"], "the turn is on disk before its MessageStop"
    assert turn.answered is not None and (turn.answered.provider, turn.answered.tier) == ("claude", "cloud")
    assert turn.answered.place == TurnPlace("s", 0, 1)
    assert await stored(store, "s") == [("user", QUESTION), ("assistant", "a thorough review")]


async def test_a_whole_answer_is_recorded_with_what_the_door_keeps_in_the_same_commit(store: Store) -> None:
    runner = runner_over(store, ScriptedProvider("claude", script=[Answer("a thorough review")]))
    turn = await open_turn(runner, "s", stream=False)
    kept: list[tuple[str, TurnPlace, str]] = []

    def keep(session: LiveSession, place: TurnPlace, response: Response) -> None:
        kept.append((session.id, place, response.text()))

    answered = await runner.complete(turn, runner.plan(turn, "cloud"), keep)
    assert kept == [("s", TurnPlace("s", 0, 1), "a thorough review")]
    assert answered.response.text() == "a thorough review" and turn.trail is not None and turn.trail.answered_by()
    assert await stored(store, "s") == [("user", QUESTION), ("assistant", "a thorough review")]


async def test_a_stream_the_door_stops_reading_keeps_its_question_and_no_answer(store: Store) -> None:
    runner = runner_over(store, ScriptedProvider("claude", script=[Answer("a thorough review", chunks=5)]))
    turn = await open_turn(runner, "s", stream=True)
    events = runner.stream(turn, runner.plan(turn, "cloud"))
    async for event in events:
        if isinstance(event, TextDelta):
            break  # the client left
    await events.aclose()
    await turn.book.question()
    assert turn.answered is None
    assert await stored(store, "s") == [("user", QUESTION)]


async def test_a_cut_stream_ends_in_its_error_and_records_no_answer(store: Store) -> None:
    runner = runner_over(store, ScriptedProvider("claude", script=[CutAfter("half of it")]))
    turn = await open_turn(runner, "s", stream=True)
    events = await collect(runner.stream(turn, runner.plan(turn, "cloud")))
    assert isinstance(events[-1], StreamError) and not any(isinstance(e, MessageStop) for e in events)
    assert turn.answered is None and turn.unstored is None and turn.answer.error is not None
    await turn.book.question()
    assert await stored(store, "s") == [("user", QUESTION)]


async def test_a_turn_the_store_cannot_commit_ends_in_an_error_instead_of_its_message_stop(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def add_turns(conn: sqlite3.Connection, turns: list[TurnRecord]) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_writes, "add_turns", add_turns)
    runner = runner_over(store, ScriptedProvider("claude", script=[Answer("a thorough review")]))
    turn = await open_turn(runner, "s", stream=True)
    events = await collect(runner.stream(turn, runner.plan(turn, "cloud")))
    assert not any(isinstance(e, MessageStop) for e in events)
    last = events[-1]
    assert isinstance(last, StreamError) and last.status == 500 and "could not store this turn" in last.message
    assert turn.unstored is not None and turn.unstored.status == 500
