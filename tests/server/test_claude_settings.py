"""Settings only Claude knows reach Claude as the client sent them. Claude Code sends
``context_management`` (keep earlier thinking: without it Claude drops it and the prompt cache is
cut there) whenever it thinks, and ``output_config.effort`` (its ``/effort``); SDK users send a
top-level ``cache_control`` (automatic caching), a service tier, a region, fast mode. Before, all
were dropped on the way: Claude Code users paid for cache rewrites and got the default effort.
Another upstream answers without them. A mid-conversation ``system`` message is refused in words
Claude Code takes as its cue to resend without one."""

from __future__ import annotations

import re

import anthropic
import httpx
import pytest

from tests.fakes.behaviours import reply_text

CLOUD = {"X-Trooper-Route": "cloud"}
SETTINGS = {
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "cache_control": {"type": "ephemeral"},
    "service_tier": "standard_only",
    "inference_geo": "us",
    "speed": "fast",
}
SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": False}


@pytest.fixture
def server(claude_and_ollama, fake_anthropic, fake_ollama):
    fake_anthropic.default = reply_text("Done.")
    fake_ollama.default = reply_text("Done locally.")
    return claude_and_ollama


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True)


def claude_code_turn(client: anthropic.Anthropic, headers: dict, **extra) -> None:
    client.messages.create(
        model="claude-sonnet-4-5", max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[{"role": "user", "content": "Refactor the loader."}], extra_headers=headers, extra_body={**SETTINGS, **extra},
    )


def test_they_reach_claude_as_sent_with_effort_beside_a_format(server, fake_anthropic):
    with sdk(server.url) as client:
        claude_code_turn(client, CLOUD, output_config={"effort": "low"})
        plain = fake_anthropic.requests[-1].json
        claude_code_turn(client, CLOUD, output_config={"effort": "low", "format": {"type": "json_schema", "schema": SCHEMA}})
        with_format = fake_anthropic.requests[-1].json
    assert {name: plain.get(name) for name in SETTINGS} == SETTINGS
    assert plain["output_config"] == {"effort": "low"}
    assert with_format["output_config"] == {"effort": "low", "format": {"type": "json_schema", "schema": SCHEMA}}


def test_another_model_answers_without_them(server, fake_ollama):
    with sdk(server.url) as client:
        claude_code_turn(client, {"X-Trooper-Route": "local"}, output_config={"effort": "low"})
    sent = fake_ollama.requests[-1].json
    assert not {*SETTINGS, "output_config"} & set(sent)


def test_count_tokens_gets_those_it_takes(server, fake_anthropic):
    body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Refactor the loader."}], **SETTINGS,
            "output_config": {"effort": "low"}}  # fmt: skip
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/v1/messages/count_tokens", json=body, headers=CLOUD).status_code == 200
    (asked,) = [r.json for r in fake_anthropic.requests if r.path == "/v1/messages/count_tokens"]
    assert {name for name in (*SETTINGS, "output_config") if name in asked} == {"context_management", "cache_control", "speed", "output_config"}


def test_a_mid_conversation_system_message_is_refused_in_words_claude_code_retries_on(server, fake_anthropic):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [
        {"role": "user", "content": "Refactor the loader."}, {"role": "system", "content": "Plan mode is on."}]}  # fmt: skip
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/v1/messages", json=body, headers=CLOUD)
    message = response.json()["error"]["message"]
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    # Claude Code's cue to resend without them: "not supported" and the role named system.
    assert "not supported" in message and re.search(r"role .{0,2}system", message, re.IGNORECASE)
    assert fake_anthropic.requests == []


def test_a_bad_setting_is_a_400(server, fake_anthropic):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "context_management": "keep"}
    with httpx.Client(base_url=server.url) as http:
        response = http.post("/v1/messages", json=body, headers=CLOUD)
    assert response.status_code == 400 and "context_management: must be an object" in response.json()["error"]["message"]
    assert fake_anthropic.requests == []


TOOL_SETTINGS = {"input_examples": [{"city": "Paris"}], "defer_loading": True, "eager_input_streaming": True}
WEATHER = {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def test_a_tools_own_settings_reach_claude_alone(server, fake_anthropic, fake_ollama):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{**WEATHER, **TOOL_SETTINGS}]}  # fmt: skip
    with httpx.Client(base_url=server.url) as http:
        assert http.post("/v1/messages", json=body, headers=CLOUD).status_code == 200
        assert http.post("/v1/messages", json=body, headers={"X-Trooper-Route": "local"}).status_code == 200
        bad = http.post("/v1/messages", json={**body, "tools": [{**WEATHER, "input_examples": {"city": "Paris"}}]}, headers=CLOUD)
    assert fake_anthropic.requests[-1].json["tools"] == [{**WEATHER, **TOOL_SETTINGS}]
    assert not set(TOOL_SETTINGS) & set(fake_ollama.requests[-1].json["tools"][0]["function"])
    assert bad.status_code == 400 and "tools[0].input_examples: must be an array" in bad.json()["error"]["message"]


def test_who_is_billed_and_which_workspace_reach_claude(server, fake_anthropic, fake_ollama):
    # The SDK sends the user profile and the workspace as headers, and the billing policy in the
    # body: all three were dropped, so a customer's request was billed to the operator's
    # organisation, in its default workspace, without a word.
    policy = {"type": "billing_policy", "bill_to": "user_profile"}
    with sdk(server.url) as client:
        client.beta.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi."}],
            user_profile_id="uprof_0123", workspace_id="wrkspc_0456", billing_policy=policy, extra_headers=CLOUD,
        )  # fmt: skip
        sent = fake_anthropic.requests[-1]
        client.beta.messages.count_tokens(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi."}], extra_headers={**CLOUD, "anthropic-workspace-id": "wrkspc_0456"})
        counted = fake_anthropic.requests[-1]
        client.beta.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi."}], billing_policy=policy,
            extra_headers={"X-Trooper-Route": "local"},
        )  # fmt: skip
    assert sent.json["billing_policy"] == policy
    assert (sent.headers["anthropic-user-profile-id"], sent.headers["anthropic-workspace-id"]) == ("uprof_0123", "wrkspc_0456")
    assert counted.path.endswith("/count_tokens") and counted.headers["anthropic-workspace-id"] == "wrkspc_0456"
    assert "billing_policy" not in counted.json, "count_tokens takes the prompt only"
    assert "billing_policy" not in fake_ollama.requests[-1].json


def test_fields_trooper_does_not_know_reach_claude_as_sent(server, fake_anthropic, fake_ollama):
    # Claude's newest fields (here made up) came through the door dropped without a word, each
    # until a release of Trooper named it; now Claude gets them, and its verdict on them.
    future = {"future_setting": {"mode": "on"}, "another": [1, 2]}
    tool = {"name": "lookup", "description": "Look it up.", "input_schema": {"type": "object"}, "future_tool_setting": True}
    with sdk(server.url) as client:
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi."}], tools=[tool],
            extra_headers=CLOUD, extra_body={**future, "x_force_local": False},
        )  # fmt: skip
        sent = fake_anthropic.requests[-1].json
        client.messages.count_tokens(model="claude-sonnet-4-5", messages=[{"role": "user", "content": "Hi."}], extra_headers=CLOUD, extra_body=future)
        counted = fake_anthropic.requests[-1].json
        client.messages.create(
            model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi."}], tools=[tool],
            extra_headers={"X-Trooper-Route": "local"}, extra_body=future,
        )  # fmt: skip
    assert {name: sent.get(name) for name in future} == future and "x_force_local" not in sent
    assert sent["tools"][0]["future_tool_setting"] is True
    assert not set(future) & set(counted), "count_tokens takes the prompt only"
    local = fake_ollama.requests[-1].json
    assert not set(future) & set(local) and "future_tool_setting" not in str(local)
