"""Settings only OpenAI knows reach OpenAI as the client sent them: before, a Chat Completions
client's seed, penalties, logit_bias, service_tier, prediction and safety_identifier, and a
Responses client's service_tier, truncation and max_tool_calls, were dropped on the way, so a
priority or flex request was billed and served as a default one and a seeded one was not
reproducible. Another upstream answers without them; a bad value is the client's 400."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
CLOUD = {"X-Trooper-Route": "cloud"}
CHAT_SETTINGS = {
    "seed": 7, "frequency_penalty": 0.5, "presence_penalty": 0.1, "logit_bias": {"50256": -100}, "service_tier": "flex",
    "prediction": {"type": "content", "content": "def f(): pass"}, "safety_identifier": "user-1", "prompt_cache_retention": "24h",
    # Newer ones, dropped without a word before (openai 3.63 sends them).
    "prompt_cache_options": {"mode": "explicit", "ttl": "30m"}, "moderation": {"input": {"mode": "score"}}, "store": True,
    "web_search_options": {"search_context_size": "low"},
}  # fmt: skip


@pytest.fixture
def openai_only(fake_openai, make_trooper):
    fake_openai.default = reply_text("Done.")
    return make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url), fake_openai


@pytest.fixture
def claude(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("Done.")
    return make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url), fake_anthropic


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def test_chat_settings_reach_openai(openai_only):
    server, fake = openai_only
    with sdk(server.url) as client:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers=CLOUD, **CHAT_SETTINGS)
    sent = fake.requests[-1].json
    assert {name: sent.get(name) for name in CHAT_SETTINGS} == CHAT_SETTINGS


def test_responses_settings_reach_openai_by_either_api_and_truncation_is_echoed(openai_only):
    server, fake = openai_only
    settings = {
        "service_tier": "priority", "truncation": "auto", "max_tool_calls": 3, "safety_identifier": "user-1",
        "prompt_cache_options": {"mode": "implicit"}, "moderation": {"output": {"mode": "score"}},
    }  # fmt: skip
    with sdk(server.url) as client:
        response = client.responses.create(model="gpt-5", input="hi", extra_headers=CLOUD, **settings)
        by_chat = fake.requests[-1].json
        client.responses.create(model="gpt-5", input="hi", tools=[{"type": "web_search"}], **settings)
        by_responses = fake.requests[-1].json
    assert response.truncation == "auto"
    # Chat Completions has no truncation nor max_tool_calls: what it shares with the Responses API goes.
    assert (by_chat["service_tier"], by_chat["safety_identifier"]) == ("priority", "user-1")
    assert (by_chat["prompt_cache_options"], by_chat["moderation"]) == (settings["prompt_cache_options"], settings["moderation"])
    assert "truncation" not in by_chat and "max_tool_calls" not in by_chat
    assert {name: by_responses.get(name) for name in settings} == settings


def test_claude_answers_without_them(claude):
    server, fake = claude
    with sdk(server.url) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers=CLOUD, **CHAT_SETTINGS)
    assert completion.choices[0].message.content == "Done."
    assert not set(CHAT_SETTINGS) & set(fake.requests[-1].json)


@pytest.mark.parametrize(
    "path,body,mentions",
    [
        ("/v1/chat/completions", {"service_tier": "turbo"}, "service_tier: must be one of auto, default, flex, scale, priority"),
        ("/v1/chat/completions", {"seed": "seven"}, "seed: must be an integer"),
        ("/v1/responses", {"truncation": "middle"}, "truncation: must be one of auto, disabled"),
        ("/v1/responses", {"max_tool_calls": 0}, "max_tool_calls: must be at least 1"),
        # Answers Trooper cannot give are refused, where the turn was answered without them.
        ("/v1/chat/completions", {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}},
         "audio: not supported by Trooper; ask for a text answer"),
        ("/v1/chat/completions", {"modalities": ["text", "audio"]}, "modalities: only text answers are supported by Trooper, got text, audio"),
        ("/v1/chat/completions", {"functions": [{"name": "f", "parameters": {}}]}, "functions: not supported by Trooper; send them as tools"),
    ],
)
def test_a_bad_setting_is_a_400_in_openai_shape(openai_only, path, body, mentions):
    server, fake = openai_only
    base = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]} if "chat" in path else {"model": "gpt-5", "input": "hi"}
    with httpx.Client(base_url=server.url) as http:
        response = http.post(path, json={**base, **body}, headers=CLOUD)
    assert response.status_code == 400 and mentions in response.json()["error"]["message"]
    assert fake.requests == []


def test_the_organization_and_project_of_the_clients_own_key_reach_openai(openai_only):
    # The SDK sends them (OPENAI_ORG_ID, OPENAI_PROJECT_ID) with the key they qualify; they were
    # dropped, so the client's own key billed its default project. With Trooper's own key (a
    # placeholder sent) they stay behind: the operator's key need not belong to them.
    server, fake = openai_only
    own = "sk-proj-client-0123456789abcdef"
    for api_key in (own, "local"):
        with openai.OpenAI(base_url=server.url + "/v1", api_key=api_key, organization="org-abc", project="proj_xyz", max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_headers=CLOUD)
            client.responses.create(model="gpt-4o", input="hi", extra_headers=CLOUD)
    with_own, also_own, with_ours, also_ours = fake.requests[-4:]
    for sent in (with_own, also_own):
        assert sent.headers["authorization"] == f"Bearer {own}"
        assert (sent.headers["openai-organization"], sent.headers["openai-project"]) == ("org-abc", "proj_xyz")
    for sent in (with_ours, also_ours):
        assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
        assert "openai-organization" not in sent.headers and "openai-project" not in sent.headers
