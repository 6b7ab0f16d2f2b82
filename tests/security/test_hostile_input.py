"""Hypothesis-made hostile bodies at every POST route: malformed, non-UTF-8, deeply nested, wrongly
typed, oversized. Never a 5xx; errors in the route's protocol shape; a rejected request leaves no
session or turn behind; the next valid request succeeds."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness import TrooperThread
from tests.security.conftest import CLAUDE_KEY

EXAMPLES = 40
ANTHROPIC = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
OPENAI = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": "hi"}]}
#: Each POST route with a valid body for it (None: the route's valid call is not a JSON POST).
ROUTES: dict[str, dict[str, Any] | None] = {
    "/v1/messages": ANTHROPIC,
    "/v1/messages/count_tokens": ANTHROPIC,
    "/v1/chat/completions": OPENAI,
    "/chat/completions": OPENAI,
    "/v1/responses": RESPONSES,
    "/api/chat/sessions": {},
    "/api/chat/sessions/{chat}/messages": {"content": "hi"},
    "/api/chat/sessions/{chat}/escalate": {},
    "/api/chat/sessions/{chat}/return": {},
    "/api/render": {"texts": ["*hi*"]},
    "/api/cloud-keys": {"provider": "claude", "key": CLAUDE_KEY},  # the fuzz server's own key again
    "/login": None,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def wrongly_typed(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """The valid body with one field (or one message field) swapped for any JSON value."""
    def swap(key: str, value: Any) -> bytes:
        body = json.loads(json.dumps(valid))
        listed = "messages" if "messages" in body else "input"
        if key.startswith("messages.") and body.get(listed):
            body[listed][0][key.split(".", 1)[1]] = value
        else:
            body[key] = value
        return json.dumps(body).encode()

    keys = [*valid, "messages.role", "messages.content", "stream", "tools", "system", "tool_choice", "previous_response_id"]
    return st.builds(swap, st.sampled_from(keys), json_values)


def nested(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + b"1" + closer * depth


hostile_bodies = st.one_of(
    st.binary(max_size=300),
    st.binary(min_size=1, max_size=300).map(lambda raw: b'{"content": "\xff\xfe' + raw + b'"}'),
    json_values.map(lambda value: json.dumps(value).encode()),
    wrongly_typed(ANTHROPIC),
    wrongly_typed(OPENAI),
    wrongly_typed(RESPONSES),
    st.builds(nested, st.integers(50, 20_000), st.sampled_from([b"[", b'{"a":']), st.just(b"]")).map(
        lambda raw: raw.replace(b"1]", b"1}") if raw.startswith(b"{") else raw
    ),
    st.sampled_from([b'{"model": NaN, "messages": Infinity}', b'{"texts": [1e999]}', b'{"content": "\\ud800"}']),
    st.integers(200_001, 400_000).map(lambda size: b'{"content": "' + b"x" * size + b'"}'),
)
content_types = st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "", "application/xml"])


class Target:
    def __init__(self, server: TrooperThread) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.chat = self.http.post("/api/chat/sessions").json()["id"]

    def path(self, route: str) -> str:
        return route.replace("{chat}", self.chat)

    def footprint(self) -> tuple[int, int]:
        """How many sessions and turns the store holds."""
        self.server.flush()
        sessions = self.http.get("/sessions", params={"cursor": "0", "limit": "10000"}).json()["sessions"]
        return len(sessions), len(self.http.get("/turns").json()["turns"])


@pytest.fixture(scope="module")
def target(fuzz_target) -> Target:
    return Target(fuzz_target)


def assert_error_shape(route: str, response: httpx.Response) -> None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        assert route == "/login", (route, response.status_code, response.text[:200])
        return
    error = response.json()["error"]
    assert isinstance(error, dict) and error["message"], response.text[:200]
    if "completions" in route or "responses" in route:
        assert "param" in error, "OpenAI's shape"
    else:
        assert response.json()["type"] == "error", "Anthropic's shape (also Trooper's own)"


@pytest.mark.parametrize("route", list(ROUTES))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=hostile_bodies, content_type=content_types)
def test_hostile_bodies_are_refused_cleanly(target, route, body, content_type):
    before = target.footprint()
    headers = {"Content-Type": content_type} if content_type else {}
    response = target.http.post(target.path(route), content=body, headers=headers)
    assert response.status_code < 500, (route, body[:200], response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert_error_shape(route, response)
        assert target.footprint() == before, "a rejected request left a session or a turn behind"
    valid = ROUTES[route]
    if valid is not None:
        again = target.http.post(target.path(route), json=valid)
        assert again.status_code in (200, 201), (route, again.status_code, again.text[:300])
        assert "event: error" not in again.text, again.text[:300]
