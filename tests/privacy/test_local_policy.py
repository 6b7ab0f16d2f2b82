"""TROOPER_PRIVACY=local through the official SDKs: a turn holding a secret is answered by the
local tier, never reaches the cloud (the fake Claude records every byte it gets), and its session
stays local, across a restart too."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

AWS_KEY = "AKIAQ3EGRTW5J2KD7XPL"
CLAUDE_KEY = "sk-ant-test-0123456789abcdef"


def ask(server, text: str, session: str = "s1", **headers: str):
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        return client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": text}],
            extra_headers={"X-Session-ID": session, **headers},
        )


def env(fake_anthropic, fake_ollama, **more: str) -> dict[str, str]:
    return {"CLAUDE_API_KEY": CLAUDE_KEY, "CLAUDE_URL": fake_anthropic.messages_url, "FALLBACK_URL": fake_ollama.api_chat_url, **more}


def test_a_secret_stays_local_and_pins_the_session_across_a_restart(upstreams, make_trooper, tmp_path):
    claude, ollama = upstreams
    settings = env(claude, ollama, TROOPER_DB=str(tmp_path / "trooper.db"))
    server = make_trooper(**settings)
    # a complex turn the classifier would send to the cloud, holding an AWS key
    question = f"Review this deployment script and explain every failure mode in detail:\nexport AWS_ACCESS_KEY_ID={AWS_KEY}\n"
    raw = ask(server, question)
    assert raw.parse().content[0].text == "from the local model"
    assert raw.headers["x-trooper-decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    assert not any(AWS_KEY.encode() in r.body for r in claude.requests)

    later = ask(server, "Now design a multi-region failover architecture for the whole platform, step by step.")
    assert later.headers["x-trooper-decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    assert claude.requests == []
    server.stop()

    restarted = make_trooper(**settings)
    again = ask(restarted, "Compare three strategies for rolling out this change and recommend one with reasons.")
    assert again.headers["x-trooper-decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    assert claude.requests == []
    # another session is not pinned
    other = ask(restarted, "Design a multi-region failover architecture for the whole platform, step by step.", session="s2")
    assert other.headers["x-trooper-provider"] == "claude"

    events = restarted.call(restarted.runtime.store.events("s1"))
    pinned = [e["detail"] for e in events if e["kind"] == "privacy_pinned"]
    assert pinned == [{"finding": "aws_access_key", "turn": 0}]
    assert all(AWS_KEY not in str(e["detail"]) for e in events)


def test_without_a_local_tier_a_private_turn_is_refused_in_the_callers_shape(upstreams, make_trooper):
    claude, _ = upstreams
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=claude.messages_url)  # the default FALLBACK_URL answers nothing
    with pytest.raises(anthropic.APIStatusError) as refused:
        ask(server, f"why does this fail? key={AWS_KEY}")
    assert refused.value.status_code == 503
    assert "private data (aws_access_key)" in refused.value.message
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0) as client, pytest.raises(openai.APIStatusError) as shaped:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"mail jane.doe@acme.io the key {AWS_KEY}"}])
    assert shaped.value.status_code == 503 and isinstance(shaped.value.body, dict) and "TROOPER_PRIVACY" in shaped.value.body["message"]
    assert claude.requests == []


@pytest.mark.parametrize(("allow", "provider"), [("false", "ollama"), ("true", "claude")])
def test_a_forced_cloud_route_overrides_only_when_allowed(upstreams, make_trooper, allow, provider):
    claude, ollama = upstreams
    server = make_trooper(**env(claude, ollama, TROOPER_PRIVACY_ALLOW_FORCE=allow))
    raw = ask(server, f"key {AWS_KEY}", **{"X-Trooper-Route": "cloud"})
    assert raw.headers["x-trooper-provider"] == provider
    assert any(AWS_KEY.encode() in r.body for r in claude.requests) == (provider == "claude")


def test_health_says_which_policy_is_active(upstreams, make_trooper):
    claude, ollama = upstreams
    server = make_trooper(**env(claude, ollama, TROOPER_PRIVATE_PATTERNS="ACME-[0-9]{6}", TROOPER_PRIVATE_PATHS="**/.env,secrets/**"))
    assert httpx.get(f"{server.url}/health").json()["privacy"] == {
        "policy": "local", "allow_force": False, "store_personal": False, "private_patterns": 1, "private_paths": 2,
    }
    raw = ask(server, "Explain every failure mode of the rollout for ticket ACME-123456 in detail, step by step.")
    assert raw.headers["x-trooper-decision"] == "ollama (privacy: private_pattern) | cloud skipped"


def test_privacy_off_is_todays_routing(upstreams, make_trooper):
    claude, ollama = upstreams
    server = make_trooper(**env(claude, ollama, TROOPER_PRIVACY="off"))
    raw = ask(server, f"Review this deployment script and explain every failure mode in detail:\nexport AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    assert raw.headers["x-trooper-provider"] == "claude"


@pytest.mark.parametrize(("policy", "counter"), [("local", "estimate"), ("off", "claude")])
def test_counting_tokens_of_a_private_request_stays_on_the_machine(upstreams, make_trooper, policy, counter):
    claude, ollama = upstreams
    server = make_trooper(**env(claude, ollama, TROOPER_PRIVACY=policy))
    question = f"Review this deployment script and explain every failure mode in detail:\nexport AWS_ACCESS_KEY_ID={AWS_KEY}\n"
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        raw = client.messages.with_raw_response.count_tokens(model="claude-sonnet-4-5", messages=[{"role": "user", "content": question}])
    assert raw.headers["x-trooper-token-count"] == counter and raw.parse().input_tokens > 0
    assert any(AWS_KEY.encode() in r.body for r in claude.requests) == (policy == "off")


def test_a_pinned_session_reloaded_after_a_restart_takes_its_resent_history_as_the_same(upstreams, make_trooper, tmp_path):
    """The store holds the session masked; the client resends it in clear: that is no edit, so no new branch."""
    claude, ollama = upstreams
    settings = env(claude, ollama, TROOPER_DB=str(tmp_path / "trooper.db"))
    history = [{"role": "user", "content": f"why is {AWS_KEY} rejected by the upload job?"}]
    server = make_trooper(**settings)
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        first = client.messages.create(model="claude-sonnet-4-5", max_tokens=50, messages=history, extra_headers={"X-Session-ID": "resent"})
    server.stop()

    restarted = make_trooper(**settings)
    history += [{"role": "assistant", "content": first.content[0].text}, {"role": "user", "content": "and after rotating it?"}]
    raw = ask_history(restarted, history, "resent")
    assert raw.headers["x-trooper-decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    restarted.flush()
    summary = restarted.call(restarted.runtime.store.get_session("resent"))
    assert (summary["branch"], summary["turn_count"]) == (0, 4)


def ask_history(server, messages, session: str):
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        return client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=messages, extra_headers={"X-Session-ID": session})
