"""Bad input gets a clear error in the caller's protocol shape; nothing is stored; the server keeps serving."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.behaviours import reply_text

ANTHROPIC = "/v1/messages"
OPENAI = "/v1/chat/completions"
VALID = {
    ANTHROPIC: {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
    OPENAI: {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
}


def assert_error_shape(path: str, response: httpx.Response, status: int, mentions: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    if path == ANTHROPIC:
        assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"]
    else:
        assert isinstance(body["error"], dict) and body["error"]["message"] and "type" in body["error"]
    assert mentions.lower() in body["error"]["message"].lower()


@pytest.fixture
def server(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("fine")
    return make_trooper(
        CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
        TROOPER_MAX_BODY_BYTES="20000", TROOPER_MAX_MESSAGES="50",
    )


BAD_BODIES = [
    (b"{not json", 400, "json"),
    (b"", 400, "empty"),
    (b"[1, 2]", 400, "object"),
    (b"\xff\xfe{}", 400, "utf-8"),
    (b'{"model": "m", "max_tokens": 5}', 400, "messages"),
    (b'{"model": "m", "max_tokens": 5, "messages": "hello"}', 400, "messages"),
    (b'{"model": "m", "max_tokens": 5, "messages": [{"role": "wizard", "content": "x"}]}', 400, "role"),
    (b'{"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 42}]}', 400, "content"),
    (b'{"a":' * 3000 + b"1" + b"}" * 3000, 400, "nested"),
    (b"[" * 100000 + b"]" * 100000, 413, "limit"),
]


@pytest.mark.parametrize("path", [ANTHROPIC, OPENAI])
@pytest.mark.parametrize("body,status,mentions", BAD_BODIES)
def test_bad_bodies_get_protocol_errors(server, path, body, status, mentions):
    with httpx.Client(base_url=server.url) as client:
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert_error_shape(path, response, status, mentions)
        assert client.post(path, json=VALID[path]).status_code == 200, "the server keeps serving"


@pytest.mark.parametrize("path", [ANTHROPIC, OPENAI])
def test_oversized_bodies_get_a_clean_413(server, path):
    with httpx.Client(base_url=server.url) as client:
        huge = {**VALID[path], "messages": [{"role": "user", "content": "x" * 50_000}]}
        assert_error_shape(path, client.post(path, json=huge), 413, "limit")
        chunked = client.post(path, content=iter([b'{"messages": "', b"y" * 30_000, b'"}']))
        assert_error_shape(path, chunked, 413, "limit")
        assert client.post(path, json=VALID[path]).status_code == 200


@pytest.mark.parametrize("path", [ANTHROPIC, OPENAI])
def test_too_many_messages(server, path):
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": "m"} for i in range(51)]
    with httpx.Client(base_url=server.url) as client:
        assert_error_shape(path, client.post(path, json={**VALID[path], "messages": messages}), 400, "limit")


def test_unknown_route_and_wrong_method(server):
    with httpx.Client(base_url=server.url) as client:
        for method, path in [("GET", "/v1/nope"), ("POST", "/v2/messages"), ("DELETE", "/whatever")]:
            response = client.request(method, path)
            assert response.status_code == 404
            assert response.json()["error"]["type"] == "not_found_error"
        response = client.get(ANTHROPIC)
        assert response.status_code == 405
        assert response.json()["type"] == "error"


def test_bad_session_header(server):
    with httpx.Client(base_url=server.url) as client:
        response = client.post(ANTHROPIC, json=VALID[ANTHROPIC], headers={"X-Session-ID": "<script>alert(1)</script>"})
        assert_error_shape(ANTHROPIC, response, 400, "x-session-id")


def test_nothing_is_stored_for_rejected_requests(server):
    with httpx.Client(base_url=server.url) as client:
        for body, _, _ in BAD_BODIES:
            client.post(ANTHROPIC, content=body)
        server.flush()
        assert client.get("/sessions").json()["sessions"] == []
