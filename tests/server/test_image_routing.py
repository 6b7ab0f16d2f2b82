"""A turn with an image goes to a cloud model that can see it when the local model cannot, unless
the caller forced the route: the image reaches Claude whole, and the headers say why."""

from __future__ import annotations

import anthropic
import httpx

from tests.fakes.behaviours import rate_limited, reply_text
from tests.images import TINY_PNG

IMAGE_TURN = [{"role": "user", "content": [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}},
    {"type": "text", "text": "what is in this picture?"},
]}]


def test_an_image_turn_goes_to_the_cloud_that_can_see_it(fake_anthropic, fake_ollama, make_trooper):
    fake_anthropic.default = reply_text("a red square")
    fake_ollama.default = reply_text("a local guess")
    server = make_trooper(CLAUDE_API_KEY="sk-ant-image-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
                          FALLBACK_URL=fake_ollama.api_chat_url)
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=64, messages=IMAGE_TURN)
        assert raw.parse().content[0].text == "a red square"
        assert raw.headers["x-trooper-provider"] == "claude" and raw.headers["x-trooper-trigger"] == "images"
        sent = fake_anthropic.requests[-1].json["messages"][0]["content"]
        assert sent[0] == IMAGE_TURN[0]["content"][0], "the image reached Claude whole"
        assert not [r for r in fake_ollama.requests if r.path == "/api/chat"], "the local model that cannot see was not asked"

        forced = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=64, messages=IMAGE_TURN,
                                                          extra_headers={"X-Trooper-Route": "local"})
        assert forced.parse().content[0].text == "a local guess", "a forced route is the caller's choice"
        assert "images omitted" in forced.headers["x-trooper-decision"]


def test_what_a_turn_lost_is_recorded_once_however_often_it_is_tried(fake_ollama, make_trooper):
    # Each attempt prepares the request again: a retry recorded "images_omitted" (and the other
    # notes of what a provider gets) once more each time.
    fake_ollama.default = reply_text("a local guess")
    fake_ollama.enqueue(rate_limited(retry_after=0))  # retried once on the same provider
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=64, messages=IMAGE_TURN)
    assert raw.parse().content[0].text == "a local guess"
    assert len([r for r in fake_ollama.requests if r.path == "/api/chat"]) == 2, "tried twice"
    server.flush()
    events = httpx.get(f"{server.url}/sessions/{raw.headers['x-trooper-session']}/events", timeout=10).json()["events"]
    assert [e["detail"]["provider"] for e in events if e["kind"] == "images_omitted"] == ["ollama"]
