"""After a session that held a secret, neither the SQLite file nor the log holds its value, in
either policy, while the client still got the values it was owed."""

from __future__ import annotations

import logging

import anthropic
import openai
import pytest

from tests.fakes.behaviours import echo

AWS_KEY = "AKIAQ3EGRTW5J2KD7XPL"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzK8h3jq9Pz"
EMAIL = "jane.doe@acme.io"


@pytest.mark.parametrize("policy", ["local", "redact"])
def test_the_store_and_the_log_hold_no_secret(policy, fake_anthropic, fake_ollama, make_trooper, tmp_path, caplog):
    fake_anthropic.default = echo()
    fake_ollama.default = echo()
    db = tmp_path / "trooper.db"
    server = make_trooper(
        CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
        FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_PRIVACY=policy, TROOPER_DB=str(db), TROOPER_ACCESS_LOG="true",
    )
    question = f"Explain in depth why the upload fails:\naws_access_key_id={AWS_KEY}\naws_secret_access_key={AWS_SECRET}\nowner: {EMAIL}"
    caplog.set_level(logging.DEBUG)
    # and the access log's own logger, which `trooper serve` quietens when TROOPER_ACCESS_LOG is off
    # (a CLI test run before this one in the same process leaves it so)
    caplog.set_level(logging.DEBUG, logger="tornado.access")
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        for turn in range(2):
            messages = [{"role": "user", "content": question}]
            if turn:
                messages += [{"role": "assistant", "content": "ok"}, {"role": "user", "content": "and now? give me the full plan"}]
            answer = client.messages.create(model="claude-sonnet-4-5", max_tokens=200, messages=messages,
                                            extra_headers={"X-Session-ID": f"clear-{policy}"})
        assert answer.content[0].text  # answered
        first = client.messages.create(model="claude-sonnet-4-5", max_tokens=200, messages=[{"role": "user", "content": question}],
                                       extra_headers={"X-Session-ID": f"echo-{policy}"})
    assert AWS_KEY in first.content[0].text, "the client gets its own values back"
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="local", max_retries=0) as client:
        kept = client.responses.create(model="gpt-4o", input=question, extra_headers={"X-Session-ID": f"responses-{policy}"})
    assert AWS_KEY in kept.output_text
    server.flush()
    server.stop()
    # Trooper's log (the SDK's own debug log quotes its request: that is the client's, not Trooper's)
    server_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("trooper", "tornado")))
    assert "POST /v1/messages" in server_log
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("trooper.db"))
    for value in (AWS_KEY, AWS_SECRET, EMAIL):
        assert value.encode() not in stored, f"{value[:4]}… is in the SQLite file"
        assert value not in server_log, f"{value[:4]}… is in the log"
    assert b"[REDACTED:aws_access_key]" in stored
    cloud = b"".join(r.body for r in fake_anthropic.requests)
    assert AWS_KEY.encode() not in cloud and AWS_SECRET.encode() not in cloud
