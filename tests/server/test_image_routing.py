"""A turn with an image goes to a cloud model that can see it when the local model cannot, unless
the caller forced the route: the image reaches Claude whole, and the headers say why."""

from __future__ import annotations

import anthropic

from tests.fakes.behaviours import reply_text
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
