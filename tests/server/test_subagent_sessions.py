"""Subagents get child sessions: a replayed Claude Code session (a main agent and four parallel
subagents under one ``X-Claude-Code-Session-Id``) through the official ``anthropic`` SDK, and
Codex's ``session-id`` and threads through the official ``openai`` SDK, against a real Trooper
with a fake Claude."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text, reply_tool_calls, tool_call
from tests.fakes.recording import RecordedRequest, content_text

SESSION = "5f0c2a8e-claude-code-session"
MAIN_SYSTEM = "You are Claude Code, Anthropic's official CLI for Claude. Use the Task tool for searches."
SUBAGENT_SYSTEM = "You are a file search specialist for Claude Code. Report what you find."
MAIN_TASK = "Map the trooper package for me: storage, SITREP, front doors and limits."
TASKS = [
    "Find where sessions are stored in the trooper package.",
    "Find how the SITREP is built from a transcript.",
    "List the front doors the proxy serves.",
    "Find the stream limits and their settings.",
]
#: Each answer takes this long to start, so the four subagents are answered at the same time; a
#: queued one would start an answer later (1 s: at 0.4 s, a loaded machine spread four requests
#: answered at once over more than the margin).
ANSWER_SECONDS = 1.0
TOOLS: list[Any] = [
    {"name": name, "description": name, "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
    for name in ("Task", "Grep")
]


def opened_with(task: str, length: int):  # type: ignore[no-untyped-def]
    """A fake-side predicate: the conversation opening with ``task``, at ``length`` messages."""
    def matches(request: RecordedRequest) -> bool:
        messages = request.messages
        return len(messages) == length and content_text(messages[0]["content"]) == task
    return matches


def script_the_upstream(fake) -> None:  # type: ignore[no-untyped-def]
    slow = {"first_token_delay": ANSWER_SECONDS}
    fake.enqueue(reply_tool_calls(*(tool_call("Task", {"q": task}) for task in TASKS), text="Searching in parallel."),
                 when=opened_with(MAIN_TASK, 1))
    for number, task in enumerate(TASKS):
        fake.enqueue(reply_tool_calls(tool_call("Grep", {"q": f"pattern {number}"}), text="Let me grep for it. ", **slow),
                     when=opened_with(task, 1))
        fake.enqueue(reply_text(f"Result {number}: found it in trooper/ module {number}.", **slow), when=opened_with(task, 3))
    fake.enqueue(reply_text("Here is the map of the package."), when=opened_with(MAIN_TASK, 3))


async def run_agent(client: anthropic.AsyncAnthropic, system: str, task: str, headers: dict[str, str],
                    tool_output: list[str]) -> tuple[list[dict[str, Any]], str]:
    """One agent's loop as Claude Code runs it: stream a turn, run the tools it called, send the
    results, until a turn calls no tool. Returns the conversation and the final answer."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
    while True:
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=512, system=system, tools=TOOLS,
                                          messages=messages, extra_headers=headers) as stream:
            answer = await stream.get_final_message()
        messages.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in answer.content]})
        calls = [block for block in answer.content if block.type == "tool_use"]
        if not calls:
            return messages, "".join(block.text for block in answer.content if block.type == "text")
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": output} for call, output in zip(calls, tool_output)
        ]})


async def replay_claude_code(url: str, *, agent_ids: bool) -> dict[str, list[dict[str, Any]]]:
    """The main agent asks for four searches; four subagents run them at once; the main agent
    gets their answers and concludes. Returns each agent's conversation."""
    main_headers = {"X-Claude-Code-Session-Id": SESSION}
    async with anthropic.AsyncAnthropic(base_url=url, api_key="local", max_retries=0,
                                        _strict_response_validation=True) as client:
        first: list[dict[str, Any]] = [{"role": "user", "content": MAIN_TASK}]
        async with client.messages.stream(model="claude-sonnet-4-5", max_tokens=512, system=MAIN_SYSTEM, tools=TOOLS,
                                          messages=first, extra_headers=main_headers) as stream:
            plan = await stream.get_final_message()
        subagents = await asyncio.gather(*(
            run_agent(client, SUBAGENT_SYSTEM, task,
                      {**main_headers, **({"x-claude-code-agent-id": f"agent-{n}"} if agent_ids else {})},
                      [f"trooper/module_{n}.py: match"])
            for n, task in enumerate(TASKS)
        ))
        results = [answer for _, answer in subagents]
        calls = [block for block in plan.content if block.type == "tool_use"]
        history = [*first, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in plan.content]},
                   {"role": "user", "content": [
                       {"type": "tool_result", "tool_use_id": call.id, "content": result} for call, result in zip(calls, results)
                   ]}]
        main, _ = await run_agent_from(client, history, main_headers)
    return {MAIN_TASK: main, **{task: conversation for task, (conversation, _) in zip(TASKS, subagents)}}


async def run_agent_from(client: anthropic.AsyncAnthropic, messages: list[dict[str, Any]],
                         headers: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
    answer = await client.messages.create(model="claude-sonnet-4-5", max_tokens=512, system=MAIN_SYSTEM, tools=TOOLS,
                                          messages=messages, extra_headers=headers)
    text = "".join(block.text for block in answer.content if block.type == "text")
    return [*messages, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in answer.content]}], text


def shape(turns: list[dict[str, Any]]) -> list[tuple[str, list[str], str]]:
    """What a transcript says, turn by turn: who, which blocks, what text (tool results included)."""
    return [(t["role"], [b["type"] for b in t["content"]], content_text(t["content"])) for t in turns]


def sent_shape(conversation: list[dict[str, Any]]) -> list[tuple[str, list[str], str]]:
    def role(message: dict[str, Any]) -> str:
        content = message["content"]
        tool_results = isinstance(content, list) and all(b["type"] == "tool_result" for b in content)
        return "tool" if tool_results else message["role"]

    def blocks(content: Any) -> list[dict[str, Any]]:
        return [{"type": "text", "text": content}] if isinstance(content, str) else content

    return [(role(m), [b["type"] for b in blocks(m["content"])], content_text(m["content"])) for m in conversation]


def settled_sitrep(api: httpx.Client, session_id: str, done: int) -> dict[str, Any]:
    """The session's stored SITREP once it counts ``done`` finished subagents (SITREPs are
    computed off the request path, a moment after the turn)."""
    deadline = time.monotonic() + 5
    while True:
        sitrep = api.get(f"/sessions/{session_id}").json()["sitrep"] or {}
        if sum(s["done"] for s in sitrep.get("subagents", [])) == done or time.monotonic() > deadline:
            return sitrep
        time.sleep(0.05)


@pytest.mark.parametrize("agent_ids", [True, False], ids=["agent-id headers", "distinct roots only"])
def test_parallel_subagents_get_child_sessions_of_their_own(fake_anthropic, make_trooper, agent_ids):
    script_the_upstream(fake_anthropic)
    # Two answers at once per session, none queued: before child sessions the third parallel
    # subagent was refused with a 429.
    server = make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
                          TROOPER_MAX_SESSION_STREAMS="2", TROOPER_QUEUE_SECONDS="0")

    conversations = asyncio.run(replay_claude_code(server.url, agent_ids=agent_ids))

    first_turns = [r.arrived_at for r in fake_anthropic.requests if opened_with_any_task(r, 1)]
    assert max(first_turns) - min(first_turns) < ANSWER_SECONDS, "the four subagents were answered at once"
    with httpx.Client(base_url=server.url, trust_env=False) as api:
        sessions = {s["id"]: s for s in api.get("/sessions").json()["sessions"]}
        assert len(sessions) == 5
        assert sessions[SESSION]["parent_id"] is None
        children = [s for s in sessions.values() if s["id"] != SESSION]
        assert all(child["parent_id"] == SESSION and re.fullmatch(r"sub-[0-9a-f]{20}", child["id"]) for child in children)
        by_task = {}
        for child in children:
            turns = api.get(f"/sessions/{child['id']}/transcript").json()["turns"]
            by_task[content_text(turns[0]["content"])] = (child, turns)
        assert sorted(by_task) == sorted(TASKS)
        main_turns = api.get(f"/sessions/{SESSION}/transcript").json()["turns"]
        assert shape(main_turns) == sent_shape(conversations[MAIN_TASK])
        for task, (child, turns) in by_task.items():
            assert shape(turns) == sent_shape(conversations[task]), task
            assert (child["branch"], child["turn_count"]) == (0, 4), "one conversation, never branched"
        assert sessions[SESSION]["branch"] == 0

        parent = settled_sitrep(api, SESSION, done=4)
        asked = {s["session_id"]: s["asked"] for s in parent["subagents"]}
        assert sorted(asked) == sorted(child["id"] for child, _ in by_task.values())
        assert "sessions are stored" in asked[by_task[TASKS[0]][0]["id"]]
        assert "front doors" in asked[by_task[TASKS[2]][0]["id"]]
        steps = [step for step in parent["completed_steps"] if step.startswith("subagent: ")]
        assert sorted(steps) == sorted(f"subagent: {what} (done)" for what in asked.values())
        assert not [loop for loop in parent["open_loops"] if loop.startswith("subagent: ")]
        child_sitrep = api.get(f"/sessions/{by_task[TASKS[0]][0]['id']}").json()["sitrep"]
        assert "sessions are stored" in child_sitrep["intent"] and not child_sitrep["subagents"]


def opened_with_any_task(request: RecordedRequest, length: int) -> bool:
    return any(opened_with(task, length)(request) for task in TASKS)


def test_a_subagent_at_work_is_an_open_loop_of_its_parent(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_tool_calls(tool_call("Grep", {"q": "x"}))
    server = make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url)
    headers = {"X-Claude-Code-Session-Id": SESSION}
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        client.messages.create(model="m", max_tokens=64, messages=[{"role": "user", "content": MAIN_TASK}],
                               extra_headers=headers)
        raw = client.messages.with_raw_response.create(
            model="m", max_tokens=64, messages=[{"role": "user", "content": TASKS[0]}],
            extra_headers={**headers, "x-claude-code-agent-id": "agent-0"})
    child = raw.headers["x-trooper-session"]
    with httpx.Client(base_url=server.url, trust_env=False) as api:
        deadline = time.monotonic() + 5
        while not (api.get(f"/sessions/{SESSION}").json()["sitrep"] or {}).get("subagents") and time.monotonic() < deadline:
            time.sleep(0.05)
        parent = api.get(f"/sessions/{SESSION}").json()["sitrep"]
    assert parent["subagents"] == [{"session_id": child, "asked": parent["subagents"][0]["asked"], "done": False}]
    assert f"subagent: {parent['subagents'][0]['asked']} (running)" in parent["open_loops"]


@pytest.mark.parametrize("header", ["session-id", "session_id"])
def test_codex_names_its_session_and_its_threads(fake_anthropic, make_trooper, header):
    fake_anthropic.default = reply_text("ok")
    server = make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url)
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0,
                       _strict_response_validation=True) as client:
        def ask(task: str, **headers: str) -> str:
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-5-codex", messages=[{"role": "user", "content": task}], extra_headers={header: "codex-1", **headers})
            return raw.headers["x-trooper-session"]

        main = ask(MAIN_TASK, **{"thread-id": "codex-1"})
        spawned = ask(TASKS[0], **{"thread-id": "thread-2", "x-codex-parent-thread-id": "codex-1"})
        nested = ask(TASKS[1], **{"thread-id": "thread-3", "x-codex-parent-thread-id": "thread-2"})
        again = ask(TASKS[0], **{"thread-id": "thread-2", "x-codex-parent-thread-id": "codex-1"})
    assert main == "codex-1" and spawned.startswith("sub-") and again == spawned
    with httpx.Client(base_url=server.url, trust_env=False) as api:
        parents = {s["id"]: s["parent_id"] for s in api.get("/sessions").json()["sessions"]}
    assert parents == {"codex-1": None, spawned: "codex-1", nested: spawned}


def test_two_conversations_opening_a_new_session_at_once_become_its_main_one_and_a_child(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("ok")
    server = make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url)

    async def both() -> list[str]:
        async with anthropic.AsyncAnthropic(base_url=server.url, api_key="local", max_retries=0) as client:
            answers = await asyncio.gather(*(
                client.messages.with_raw_response.create(
                    model="m", max_tokens=64, system=system, messages=[{"role": "user", "content": task}],
                    extra_headers={"X-Claude-Code-Session-Id": "opened-at-once"})
                for system, task in ((MAIN_SYSTEM, MAIN_TASK), (SUBAGENT_SYSTEM, TASKS[0]))
            ))
        return [answer.headers["x-trooper-session"] for answer in answers]

    sessions = asyncio.run(both())
    assert "opened-at-once" in sessions and len(set(sessions)) == 2
    with httpx.Client(base_url=server.url, trust_env=False) as api:
        for session_id in sessions:
            assert [t["role"] for t in api.get(f"/sessions/{session_id}/transcript").json()["turns"]] == ["user", "assistant"]
        assert {s["id"]: s["parent_id"] for s in api.get("/sessions").json()["sessions"]} == {
            "opened-at-once": None, next(s for s in sessions if s != "opened-at-once"): "opened-at-once"}
