"""The system prompt is looked at too (a CLAUDE.md holding a key, an app's prompt holding a
customer's email): through the official Anthropic SDK against a fake Claude that records every
byte, a private system prompt pins the session local, an unchanged one is not scanned again, and
under ``redact`` the cloud gets its placeholders."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.behaviours import echo

AWS_KEY = "AKIAQ3EGRTW5J2KD7XPL"
EMAIL = "jane.doe@acme.io"
CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
COMPLEX = "Design a multi-region failover architecture for the whole platform and explain every trade-off, step by step."
PROMPT_WITH_KEY = f"# CLAUDE.md\nDeploy with `aws s3 sync` using AWS_ACCESS_KEY_ID={AWS_KEY}.\nBe concise."


def trooper(make_trooper, claude, ollama, **more: str):
    return make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=claude.messages_url, FALLBACK_URL=ollama.api_chat_url, **more)


def ask(server, system, messages, session: str):
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        return client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=100, system=system, messages=messages, extra_headers={"X-Session-ID": session},
        )


def privacy_events(server, session: str) -> list[tuple[str, dict]]:
    server.flush()
    events = server.call(server.runtime.store.events(session))
    return [(e["kind"], e["detail"]) for e in events if str(e["kind"]).startswith("privacy_")]


def test_a_key_in_the_system_prompt_pins_the_session_and_an_unchanged_prompt_is_scanned_once(upstreams, make_trooper):
    claude, ollama = upstreams
    server = trooper(make_trooper, claude, ollama)
    history = [{"role": "user", "content": COMPLEX}]
    first = ask(server, PROMPT_WITH_KEY, history, "sys1")
    assert first.headers["x-trooper-decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    history += [{"role": "assistant", "content": first.parse().content[0].text}, {"role": "user", "content": COMPLEX}]
    second = ask(server, PROMPT_WITH_KEY, history, "sys1")
    assert second.headers["x-trooper-decision"] == "ollama (privacy: aws_access_key) | cloud skipped"
    assert claude.requests == []
    # one finding for two turns resending the same prompt: the second did not scan it again
    assert privacy_events(server, "sys1") == [
        ("privacy_finding", {"finding": "aws_access_key", "category": "secret", "turn": -1}),
        ("privacy_pinned", {"finding": "aws_access_key", "turn": -1}),
    ]


def test_a_system_prompt_that_gains_private_data_is_scanned_again(upstreams, make_trooper):
    claude, ollama = upstreams
    server = trooper(make_trooper, claude, ollama)
    history = [{"role": "user", "content": COMPLEX}]
    clean = [{"type": "text", "text": "You are the support assistant of Acme."}]
    assert ask(server, clean, history, "sys2").headers["x-trooper-provider"] == "claude"
    history += [{"role": "assistant", "content": "from the cloud"}, {"role": "user", "content": COMPLEX}]
    with_email = [*clean, {"type": "text", "text": f"The customer you are talking to is {EMAIL}."}]
    raw = ask(server, with_email, history, "sys2")
    assert raw.headers["x-trooper-decision"] == "ollama (privacy: email) | cloud skipped"
    assert len(claude.requests) == 1 and EMAIL.encode() not in claude.requests[0].body


def test_under_redact_the_cloud_gets_the_system_prompts_placeholders(upstreams, make_trooper):
    claude, ollama = upstreams
    claude.default = echo()
    server = trooper(make_trooper, claude, ollama, TROOPER_PRIVACY="redact")
    raw = ask(server, PROMPT_WITH_KEY, [{"role": "user", "content": COMPLEX}], "sys3")
    assert raw.headers["x-trooper-provider"] == "claude"
    sent = b"".join(r.body for r in claude.requests)
    assert AWS_KEY.encode() not in sent and b"AWS_ACCESS_KEY_ID=[SECRET_1]" in sent
    assert privacy_events(server, "sys3") == [("privacy_finding", {"finding": "aws_access_key", "category": "secret", "turn": -1})]


@pytest.mark.parametrize(("policy", "counter"), [("local", "estimate"), ("off", "claude")])
def test_counting_tokens_with_a_private_system_prompt_stays_on_the_machine(upstreams, make_trooper, policy, counter):
    claude, ollama = upstreams
    server = trooper(make_trooper, claude, ollama, TROOPER_PRIVACY=policy)
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        raw = client.messages.with_raw_response.count_tokens(
            model="claude-sonnet-4-5", system=PROMPT_WITH_KEY, messages=[{"role": "user", "content": COMPLEX}])
    assert raw.headers["x-trooper-token-count"] == counter
    assert any(AWS_KEY.encode() in r.body for r in claude.requests) == (policy == "off")
