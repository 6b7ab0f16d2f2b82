"""Access control: with TROOPER_TOKEN every route but /health needs the token; browsers cannot act cross-site."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text
from trooper.server.app import make_app
from trooper.server.auth import COOKIE_NAME
from trooper.server.guesses import GuessThrottle

TOKEN = "trooper-access-token-0123456789"
CLAUDE_KEY = "sk-ant-configured-key-0123456789abcdef"
OPENAI_KEY = "sk-configured-openai-key-0123456789abcdef"
MESSAGE = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
OPEN_ROUTES = {"/health", "/login", "/logout", "/static/(.*)"}


@pytest.fixture
def guarded(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("fine")
    return make_trooper(TROOPER_TOKEN=TOKEN, CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)


def every_route() -> list[str]:
    """Each route of the real application table, with its path parameters filled in."""
    from trooper.config import Settings
    from trooper.server.state import AppState

    app = make_app(AppState(Settings(), store=None))  # type: ignore[arg-type]
    paths = [rule.matcher.regex.pattern.rstrip("$") for rule in app.wildcard_router.rules]
    return [re.sub(r"\([^)]*\)", "s-1", p) for p in paths if p not in OPEN_ROUTES]


def test_every_route_but_health_needs_the_token(guarded):
    routes = every_route()
    assert "/v1/messages" in routes and "/sessions/s-1/transcript" in routes and "/api/chat/sessions" in routes
    with httpx.Client(base_url=guarded.url) as client:
        for path in [*routes, "/no/such/route"]:
            for method in ("GET", "POST"):
                response = client.request(method, path, json={})
                if path in ("/", "/chat", "/dashboard") and method == "GET":
                    assert response.status_code == 302, path
                    assert not response.headers["location"].startswith(("/", "http")), "relative redirect"
                    continue
                assert response.status_code == 401, (method, path, response.text)
                error = response.json()["error"]
                assert "access token" in error["message"]
                openai_door = "completions" in path or "responses" in path
                assert error["type"] == ("invalid_request_error" if openai_door else "authentication_error"), path
                assert response.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/health").status_code == 200
        assert client.head("/health").status_code == 200, "uptime checks ask with HEAD"
        assert client.get("/static/trooper.css").status_code == 200


def test_refusals_speak_the_callers_protocol(guarded):
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=guarded.url, api_key="wrong-token", max_retries=0).messages.create(**MESSAGE)
    with pytest.raises(openai.AuthenticationError) as caught:
        openai.OpenAI(base_url=guarded.url + "/v1", api_key="wrong-token", max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.body["type"] == "invalid_request_error" or "message" in caught.value.body


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {TOKEN}"}, {"x-api-key": TOKEN}, {"authorization": f"bearer {TOKEN}"}],
    ids=["bearer", "x-api-key", "lowercase-bearer"],
)
def test_token_in_a_header_is_accepted(guarded, headers):
    with httpx.Client(base_url=guarded.url, headers=headers) as client:
        assert client.post("/v1/messages", json=MESSAGE).status_code == 200
        assert client.get("/sessions").status_code == 200


def test_wrong_or_partial_tokens_are_refused(guarded):
    with httpx.Client(base_url=guarded.url) as client:
        for value in [TOKEN[:-1], TOKEN + "x", "x", TOKEN.upper()]:
            assert client.get("/sessions", headers={"Authorization": f"Bearer {value}"}).status_code == 401
        with httpx.Client(base_url=guarded.url, cookies={COOKIE_NAME: TOKEN}) as raw_cookie:
            assert raw_cookie.get("/sessions").status_code == 401, "the cookie is not the token"


def test_login_form_sets_a_strict_httponly_cookie_for_the_pages(guarded):
    with httpx.Client(base_url=guarded.url) as client:
        assert client.get("/dashboard").headers["location"] == "login?next=dashboard"
        form = client.get("/login?next=dashboard")
        assert form.status_code == 200 and 'name="token"' in form.text
        assert client.post("/login", data={"token": "guess"}).status_code == 401
        assert COOKIE_NAME not in client.cookies
        signed_in = client.post("/login?next=dashboard", data={"token": TOKEN})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "dashboard"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
        assert client.get("/dashboard").status_code == 200
        assert client.post("/api/chat/sessions", json={}).status_code == 201


def test_login_never_redirects_off_site(guarded):
    with httpx.Client(base_url=guarded.url) as client:
        for target in ["https://evil.example/", "//evil.example", "/etc"]:
            response = client.post("/login", params={"next": target}, data={"token": TOKEN})
            assert response.headers["location"] == "chat"


def test_the_token_used_as_an_sdk_key_is_never_sent_upstream(fake_anthropic, fake_openai, make_trooper):
    # Shaped like provider keys on purpose: only Trooper's removal of the header keeps them home.
    anthropic_shaped, openai_shaped = "sk-ant-trooper-token-0123456789abcdef", "sk-trooper-token-0123456789abcdef"
    fake_anthropic.default = fake_openai.default = reply_text("fine")
    for token, key_env, url_env, fake in [
        (anthropic_shaped, {"CLAUDE_API_KEY": CLAUDE_KEY}, {"CLAUDE_URL": fake_anthropic.messages_url}, fake_anthropic),
        (openai_shaped, {"OPENAI_API_KEY": OPENAI_KEY}, {"OPENAI_URL": fake_openai.chat_completions_url}, fake_openai),
    ]:
        server = make_trooper(TROOPER_TOKEN=token, **key_env, **url_env)
        anthropic.Anthropic(base_url=server.url, api_key=token, max_retries=0).messages.create(**MESSAGE)
        openai.OpenAI(base_url=server.url + "/v1", api_key=token, max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        configured = next(iter(key_env.values()))
        assert [r.api_key for r in fake.requests] == [configured, configured]


def test_placeholder_keys_are_not_forwarded_without_a_token(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("fine")
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    for placeholder in ["local", "sk-trooper", "not-a-provider-key-0123456789"]:
        anthropic.Anthropic(base_url=server.url, api_key=placeholder, max_retries=0).messages.create(**MESSAGE)
    assert {r.api_key for r in fake_anthropic.requests} == {CLAUDE_KEY}


@pytest.mark.parametrize("source", ["Origin", "Referer"])
def test_cross_site_posts_are_refused(fake_anthropic, make_trooper, source):
    fake_anthropic.default = reply_text("fine")
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    evil = {source: "https://evil.example/page" if source == "Referer" else "https://evil.example"}
    with httpx.Client(base_url=server.url) as client:
        refused = client.post("/api/chat/sessions", json={}, headers=evil)
        assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
        front_door = client.post("/v1/chat/completions", json={"model": "m", "messages": []}, headers=evil)
        assert front_door.status_code == 403 and front_door.json()["error"]["message"]
        assert client.post("/api/chat/sessions", json={}, headers={"Origin": "null"}).status_code == 403
        same_site = {source: server.url + ("/chat" if source == "Referer" else "")}
        assert client.post("/api/chat/sessions", json={}, headers=same_site).status_code == 201
        assert client.get("/sessions", headers=evil).status_code == 200, "reads are not state changes"
        server.flush()
        assert len(client.get("/api/chat/sessions").json()) == 1, "the refused POSTs created nothing"


def test_the_origin_check_reads_the_scheme(make_trooper):
    """Behind a TLS-terminating proxy an https page reaches an http Trooper: allowed. A plain-http
    page (which a network attacker can write under the same name) posting to a Trooper the browser
    reached over https is not the same site. Other schemes never are."""
    server = make_trooper()
    host = server.url.removeprefix("http://")
    over_tls = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=server.url) as client:
        for origin, extra, status in [
            (f"https://{host}", over_tls, 201),
            (f"https://{host}", {}, 201),
            (f"http://{host}", {}, 201),
            (f"http://{host}", over_tls, 403),
            (f"http://{host}", {"X-Forwarded-Proto": "https, http"}, 403),
            (f"ftp://{host}", {}, 403),
            (f"chrome-extension://{host}", {}, 403),
        ]:
            response = client.post("/api/chat/sessions", json={}, headers={"Origin": origin, **extra})
            assert response.status_code == status, (origin, extra, response.text)
            if status == 403:
                assert response.json()["error"]["type"] == "permission_error"


def test_sign_in_behind_a_tls_proxy_sets_secure_cookies(make_trooper):
    server = make_trooper(TROOPER_TOKEN=TOKEN)
    with httpx.Client(base_url=server.url) as client:
        headers = {"X-Forwarded-Proto": "https", "Origin": server.url.replace("http://", "https://")}
        response = client.post("/login", data={"token": TOKEN}, headers=headers)
        assert response.status_code == 303
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("Secure" in c and "SameSite=Strict" in c for c in cookies)
        plain = client.post("/login", data={"token": TOKEN}, headers={"Origin": server.url})
        assert plain.status_code == 303 and not any("Secure" in c for c in plain.headers.get_list("set-cookie"))


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "TEXT/PLAIN; charset=utf-8"]
)
def test_chat_api_takes_json_only(make_trooper, content_type):
    server = make_trooper()
    with httpx.Client(base_url=server.url) as client:
        session = client.post("/api/chat/sessions").json()["id"]
        body = b'{"content": "hello"}'
        response = client.post(f"/api/chat/sessions/{session}/messages", content=body, headers={"Content-Type": content_type})
        assert response.status_code == 415 and "application/json" in response.json()["error"]["message"]
        server.flush()
        assert client.get(f"/sessions/{session}/transcript").json()["turns"] == []


def test_an_empty_post_labelled_as_a_form_is_not_refused(make_trooper):
    # jupyter-server-proxy's client labels every empty POST as a form; it carries no fields.
    server = make_trooper()
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/api/chat/sessions", headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code == 201


# ---------------------------------------------------------------- guessing the token


async def _timed(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.request(method, path, **kwargs)
    return response, time.monotonic() - started


def test_a_wrong_token_waits_and_the_right_one_never_does(guarded):
    async def run() -> list[str]:
        finished: list[str] = []

        async def send(label: str, headers: dict[str, str]) -> None:
            response, seconds = await _timed(client, "GET", "/sessions", headers=headers)
            finished.append(label)
            if label == "right":
                assert response.status_code == 200
            elif label == "none":
                assert response.status_code == 401
            else:
                assert response.status_code == 401 and seconds >= GuessThrottle.DELAY_SECONDS, (label, seconds)

        async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as client:
            await asyncio.gather(
                send("wrong bearer", {"Authorization": "Bearer guess-1"}),
                send("wrong x-api-key", {"x-api-key": "guess-2"}),
                send("wrong cookie", {"Cookie": f"{COOKIE_NAME}=guess-3"}),
                send("none", {}),
                send("right", {"x-api-key": TOKEN}),
            )
        return finished

    finished = asyncio.run(run())
    assert set(finished[:2]) == {"right", "none"}, f"no credential and the right one answer at once: {finished}"


def test_guessing_is_capped_at_a_few_at_once(guarded):
    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=guarded.url, timeout=30) as client:
            return list(await asyncio.gather(*(
                client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": f"guess-{n}"}) for n in range(40)
            )))

    responses = asyncio.run(run())
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {401, 429} and GuessThrottle.MAX_WAITING <= statuses.count(401) < 40, statuses
    busy = next(r for r in responses if r.status_code == 429)
    assert busy.headers["retry-after"] == "1"
    assert busy.json() == {"type": "error", "error": {"type": "rate_limit_error", "message": busy.json()["error"]["message"]}}
    with httpx.Client(base_url=guarded.url) as client:
        assert client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": TOKEN}).status_code == 200


def test_a_page_with_a_wrong_token_redirects_only_after_the_wait(guarded):
    started = time.monotonic()
    response = httpx.get(guarded.url + "/dashboard", headers={"Authorization": "Bearer guess"})
    assert response.status_code == 302 and time.monotonic() - started >= GuessThrottle.DELAY_SECONDS


def test_the_login_form_waits_on_a_wrong_token(guarded):
    started = time.monotonic()
    response = httpx.post(guarded.url + "/login", data={"token": "guess"})
    assert response.status_code == 401 and time.monotonic() - started >= GuessThrottle.DELAY_SECONDS
    assert "not the access token" in response.text
