"""OpenAI's server-side compaction on the Responses door (``context_management: [{"type":
"compaction", "compact_threshold": N}]``), with the official openai SDK (strict validation): OpenAI
answering gets it as sent, by its Responses API; Claude answering gets its own compaction
(``compact_20260112`` triggered at N tokens, with its beta), and its summary reaches the client as
a compaction item, created and streamed, that any model reads back."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.fakes.behaviours import reply_text
from trooper.conversation import SUMMARY_HEADING

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
COMPACTION = [{"type": "compaction", "compact_threshold": 50_000}]


def sdk(server: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def long_input() -> list[dict[str, Any]]:
    """Three turns of a session, ~60,000 tokens: past the threshold."""
    items: list[dict[str, Any]] = []
    for turn in range(3):
        items.append({"role": "user", "content": f"step {turn}: look at this log " + "line of the build log " * 4000})
        items.append({"role": "assistant", "content": f"Read step {turn}; the build fails on a missing header."})
    return [*items, {"role": "user", "content": "so what do we fix first?"}]


def ask(client: openai.OpenAI, stream: bool, **request: Any) -> Any:
    if not stream:
        return client.responses.create(**request)
    with client.responses.stream(**request) as events:
        return events.get_final_response()


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_claude_compacts_and_its_summary_comes_back_as_a_compaction_item(fake_anthropic, make_trooper, stream):
    fake_anthropic.default = reply_text("Fix the missing header first.")
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    with sdk(server) as client:
        response = ask(client, stream, model="claude-sonnet-4-6", input=long_input(), context_management=COMPACTION,
                       extra_headers={"X-Trooper-Route": "cloud"})
    compaction, message = response.output
    assert compaction.type == "compaction" and compaction.encrypted_content.startswith("trooper.summary:Summary: the user asked step 0")
    assert message.type == "message" and response.output_text == "Fix the missing header first."
    (sent,) = fake_anthropic.requests
    edit = {"type": "compact_20260112", "trigger": {"type": "input_tokens", "value": 50_000}}
    assert sent.json["context_management"] == {"edits": [edit]} and "compact-2026-01-12" in sent.headers["anthropic-beta"]
    # Resent, the item is the summary's text, which any model reads.
    with sdk(server) as client:
        client.responses.create(model="claude-sonnet-4-6", input=[compaction.model_dump(), {"role": "user", "content": "next?"}],
                                extra_headers={"X-Trooper-Route": "cloud"})
    first = fake_anthropic.requests[-1].json["messages"][0]["content"][0]["text"]
    assert first.startswith(f"{SUMMARY_HEADING}\nSummary: the user asked step 0")


def test_openai_gets_its_compaction_as_sent_by_its_responses_api(fake_openai, make_trooper):
    fake_openai.default = reply_text("Fix the missing header first.")
    server = make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url)
    with sdk(server) as client:
        client.responses.create(model="gpt-4.1", input="so what do we fix first?", context_management=COMPACTION,
                                extra_headers={"X-Trooper-Route": "cloud"})
    (sent,) = fake_openai.requests
    assert sent.path == "/v1/responses" and sent.json["context_management"] == COMPACTION


def test_a_bad_compaction_setting_is_a_clear_400(fake_anthropic, make_trooper):
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    with sdk(server) as client, pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="claude-sonnet-4-6", input="hi", context_management=[{"type": "summarize"}])
    assert "context_management[0].type: must be one of compaction" in raised.value.message
    assert fake_anthropic.requests == []
