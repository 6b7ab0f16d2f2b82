"""Planning a turn that offers OpenAI's built-in tools (``trooper/routing/builtin_tools.py``):
OpenAI's Responses API alone, or a 400 saying why nobody may answer it; and what of OpenAI's own
items each provider of a turn gets."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.scripted import Fail, ScriptedProvider
from trooper.config import Settings
from trooper.conversation import HostedToolBlock, Message, Request, TextBlock, ThinkingBlock
from trooper.errors import TrooperError
from trooper.providers.base import CallOptions, Capabilities
from trooper.providers.openai_compat import responses_url_of
from trooper.routing.headers import Attempt as TrailAttempt
from trooper.routing.headers import Trail, decision_header
from trooper.routing.router import Router, TurnRecorder

SEARCH_ITEM = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search", "query": "q"}}


@dataclass
class OpenAIResponses(ScriptedProvider):
    def capabilities(self) -> Capabilities:
        return Capabilities(context_window=self.context_window, builtin_tools_host="openai")


@dataclass
class OpenAIKeepingReasoning(OpenAIResponses):
    """OpenAI's provider: its Responses API also answers the turns keeping its reasoning."""

    def uses_responses_api(self, request: Request) -> bool:
        return super().uses_responses_api(request) or request.keeps_openai_reasoning()


def searching(*tools: str) -> Request:
    return Request(model="gpt-5", messages=[Message("user", [TextBlock("news?")])], hosted_tools=[{"type": t} for t in tools])


def router(*cloud: ScriptedProvider) -> Router:
    local = ScriptedProvider("ollama", tier="local")
    return Router(Settings(), cloud=list(cloud), local=lambda: local)


def test_only_openai_answers_and_nobody_falls_back() -> None:
    claude, openai = ScriptedProvider("claude"), OpenAIResponses("openai")
    plans = [
        router(claude, openai).plan(searching("web_search", "file_search", "web_search")),
        router(claude, openai).plan(searching("web_search", "file_search"), "cloud"),
        router(claude, openai).plan(searching("web_search", "file_search"), escalate=True),
    ]
    assert [(p.route, p.reason, p.candidates, p.forced) for p in plans] == [
        ("cloud", "built-in tools: web_search, file_search", [openai], False),
        ("cloud", "built-in tools: web_search, file_search", [openai], True),
        ("cloud", "built-in tools: web_search, file_search", [openai], False),
    ]
    trail = Trail(route="cloud", reason=plans[1].reason, forced=True, attempts=[TrailAttempt("openai", "ok")])
    assert decision_header(trail) == "openai (built-in tools: web_search, file_search)", "the reason wins over 'direct'"


@pytest.mark.parametrize(
    "forced,private,cloud,why",
    [
        ("local", None, "both", "forced to the local model"),
        (None, "aws_access_key", "both", "holds private data (aws_access_key)"),
        (None, None, "claude", "no OpenAI is configured to run them"),
    ],
)
def test_a_turn_nobody_may_answer_is_a_400_naming_the_tools(forced: str | None, private: str | None, cloud: str, why: str) -> None:
    providers = [ScriptedProvider("claude")] + ([OpenAIResponses("openai")] if cloud == "both" else [])
    with pytest.raises(TrooperError) as refused:
        router(*providers).plan(searching("code_interpreter"), forced, private=private)
    assert refused.value.status == 400 and refused.value.error_type == "invalid_request_error"
    assert "'code_interpreter' run only on OpenAI's servers" in refused.value.message and why in refused.value.message


def test_the_responses_url_sits_beside_the_chat_completions_one() -> None:
    assert responses_url_of("https://api.openai.com/v1/chat/completions") == "https://api.openai.com/v1/responses"
    assert responses_url_of("http://127.0.0.1:9/v1/chat/completions/") == "http://127.0.0.1:9/v1/responses"
    assert responses_url_of("https://proxy.example/openai/complete") is None


def test_other_upstreams_get_the_answers_without_the_built_in_items() -> None:
    request = Request(model="m", messages=[
        Message("user", [TextBlock("news?")]),
        Message("assistant", [HostedToolBlock(SEARCH_ITEM), TextBlock("Calm today.")]),
        Message("user", [HostedToolBlock({"type": "computer_call_output", "call_id": "c", "output": {}})]),
        Message("user", [TextBlock("thanks")]),
    ])  # fmt: skip
    assert request.has_hosted_items()
    stripped = request.without_hosted_items()
    assert [(m.role, m.content) for m in stripped.messages] == [
        ("user", [TextBlock("news?")]), ("assistant", [TextBlock("Calm today.")]), ("user", [TextBlock("thanks")]),
    ] and not stripped.has_hosted_items()  # fmt: skip


async def test_openai_s_responses_api_gets_the_items_in_place_for_reasoning_and_others_get_none() -> None:
    """A turn keeping OpenAI's reasoning, after a web search: Claude, first, gets neither item;
    OpenAI, answering by its Responses API, gets both in place (the search item too: what the
    reasoning item preceded stays where it was), and the turn says why it went that way."""
    reasoning = ThinkingBlock("", summary=True, openai_item={"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAA"})
    answer = Message("assistant", [reasoning, HostedToolBlock(SEARCH_ITEM), TextBlock("Calm today.")])
    request = Request(model="gpt-5", messages=[Message("user", [TextBlock("news?")]), answer, Message("user", [TextBlock("sure?")])])
    claude, openai = ScriptedProvider("claude", default=Fail(status=529, error_type="overloaded_error")), OpenAIKeepingReasoning("openai")
    events: list[tuple[str, dict]] = []
    recorder = TurnRecorder("s", attempt=lambda record: None, event=lambda kind, **detail: events.append((kind, detail)))
    r = Router(Settings(retry_backoff=0.0), cloud=[claude, openai], local=lambda: None)
    plan = r.plan(request, "cloud")
    _, trail, provider = await r.complete(request, plan, CallOptions(), recorder)
    assert provider is openai and trail.responses_api == "openai"
    assert claude.calls[0].request.messages[1].content == [reasoning, TextBlock("Calm today.")], "Claude's codec drops the thinking it did not sign"
    assert openai.calls[0].request.messages[1].content == answer.content
    assert [kind for kind, _ in events if kind == "responses_api"] == ["responses_api"]
