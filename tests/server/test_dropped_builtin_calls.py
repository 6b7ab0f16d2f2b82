"""An output answering a built-in call an upstream cannot take goes with its call: older Codex
answers its ``local_shell_call`` with a ``function_call_output``. Sent to Claude, the call was
dropped and its output stayed a ``tool_result`` answering no ``tool_use``, which Claude refuses
(400). Now the output becomes a note in its place, saying which call it answers, so the model still
reads it, and Claude (or Chat Completions) gets a conversation it accepts."""

from __future__ import annotations

import openai
import pytest

from tests.fakes.behaviours import reply_text

CLOUD = {"X-Trooper-Route": "cloud"}
LS = {"type": "local_shell_call", "call_id": "call_ls", "status": "completed",
      "action": {"type": "exec", "command": ["bash", "-lc", "ls"], "timeout_ms": 10000}}  # fmt: skip
SHELL = {"type": "function", "name": "shell", "strict": False,
         "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}}}}  # fmt: skip
CODEX_TURN = [
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "what is in this repo?"}]},
    LS,
    {"type": "function_call_output", "call_id": "call_ls", "output": "README.md\nsrc\n"},
]
#: A function call of the same turn beside the built-in one, its output after the built-in call's.
BESIDE = [
    CODEX_TURN[0],
    LS,
    {"type": "function_call", "call_id": "call_fn", "name": "shell", "arguments": '{"command": ["pwd"]}'},
    CODEX_TURN[2],
    {"type": "function_call_output", "call_id": "call_fn", "output": "/repo"},
]


@pytest.fixture
def claude_server(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("A README and src.")
    return make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url)


def ask(server, items: list[dict]) -> str:
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as client:
        return client.responses.create(model="gpt-5-codex", input=items, tools=[SHELL], extra_headers=CLOUD).output_text  # type: ignore[arg-type, list-item]


def test_the_output_of_a_dropped_call_reaches_claude_as_a_note(claude_server, fake_anthropic) -> None:
    assert ask(claude_server, CODEX_TURN) == "A README and src."
    asked, answered = fake_anthropic.requests[-1].json["messages"]  # the assistant turn held the call alone
    assert asked == {"role": "user", "content": [{"type": "text", "text": "what is in this repo?"}]}
    assert answered["role"] == "user" and [b["type"] for b in answered["content"]] == ["text"], "no tool_result answering nothing"
    note = answered["content"][0]["text"]
    assert note.startswith("[output of local_shell_call ") and '"bash", "-lc", "ls"' in note and note.endswith("README.md\nsrc\n")


def test_the_note_follows_the_turn_s_other_tool_results(claude_server, fake_anthropic) -> None:
    assert ask(claude_server, BESIDE) == "A README and src."
    answers = fake_anthropic.requests[-1].json["messages"][-1]["content"]
    assert [b["type"] for b in answers] == ["tool_result", "text"], "Claude takes text after a turn's tool results only"
    assert answers[0]["tool_use_id"] == "call_fn" and answers[1]["text"].startswith("[output of local_shell_call ")
