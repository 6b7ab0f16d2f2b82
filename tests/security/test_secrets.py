"""API keys never show: not in logs, responses, the store, the dashboard's JSON or ``trooper doctor``.

Recognisable canary keys are configured (Claude, OpenAI, the access token) and sent by clients,
through a scripted session that includes upstream failures (401, 500, a reset connection, an
upstream that echoes the key it got); then everything Trooper said or wrote is searched for them.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import anthropic
import httpx
import httpx2
import openai
import pytest

from tests.fakes.behaviours import connection_reset, http_error, invalid_api_key, reply_text, server_error
from trooper.server.auth import COOKIE_NAME, cookie_value

CANARY = "SECRET-CANARY"
CLAUDE_KEY = f"sk-ant-{CANARY}-configured-0123456789"
OPENAI_KEY = f"sk-{CANARY}-openai-configured-0123456789"
CLIENT_KEY = f"sk-ant-{CANARY}-client-0123456789"
TOKEN = f"{CANARY}-access-token-0123456789"
ENV = {"CLAUDE_API_KEY": CLAUDE_KEY, "OPENAI_API_KEY": OPENAI_KEY, "TROOPER_TOKEN": TOKEN}
#: Loggers whose DEBUG output could carry request headers.
LOGGERS = ("trooper", "tornado", "httpx", "httpcore", "asyncio", "")


class Seen:
    """Every byte Trooper returned to a client: status lines, headers, bodies."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    def response(self, response: httpx.Response) -> None:
        response.read()
        self.chunks.append(f"{response.status_code} {response.headers!r}\n{response.text}")

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(event_hooks={"response": [self.response]}, timeout=20, **kwargs)  # type: ignore[arg-type]

    def sdk_client(self) -> httpx2.Client:
        """The SDKs bring their own httpx fork; the same hook on it."""
        return httpx2.Client(event_hooks={"response": [self.response]}, timeout=20)


ENCODED_CANARY = "".join(f"%{b:02X}" for b in CANARY.encode())


def leaks(text: str) -> list[str]:
    return [line[:300] for line in text.splitlines() if CANARY in line or ENCODED_CANARY in line.upper()]


@pytest.fixture
def scripted_session(fake_anthropic, fake_openai, fake_ollama, make_trooper, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    fake_ollama.default = reply_text("local answer")
    fake_openai.default = reply_text("openai answer")
    fake_anthropic.default = reply_text("claude answer")
    # The failures a session meets: a bad key, a server error, a reset, an upstream echoing the key.
    fake_anthropic.enqueue(
        invalid_api_key(), server_error(500), server_error(500), connection_reset(), connection_reset(),
        http_error(401, f"Incorrect API key provided: {CLIENT_KEY}"),
        http_error(400, f"bad request from key {CLAUDE_KEY}"),
        # quoted glued to a word and percent-encoded: the shapes a leading \b and a literal match missed
        http_error(401, f"invalid key_{CLAUDE_KEY} for this org"),
        http_error(400, f"see https://console.example/keys?k={quote(CLIENT_KEY, safe='')}"),
        http_error(400, "encoded " + "".join(f"%{b:02X}" for b in CLAUDE_KEY.encode())),
    )
    db = tmp_path / "trooper.db"
    server = make_trooper(
        **ENV, CLAUDE_URL=fake_anthropic.messages_url, OPENAI_URL=fake_openai.chat_completions_url,
        FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_DB=str(db), TROOPER_BREAKER_FAILURES="100",
    )
    seen = Seen()
    ask = {"model": "claude-haiku-4-5", "max_tokens": 32}
    history = [{"role": "user", "content": "Refactor the parser module and explain why in detail please"}]
    sdk = anthropic.Anthropic(base_url=server.url, api_key=TOKEN, max_retries=0, http_client=seen.sdk_client(),
                              default_headers={"X-Session-ID": "s-canary", "X-Trooper-Route": "cloud"})
    own_key = anthropic.Anthropic(base_url=server.url, api_key=CLIENT_KEY, max_retries=0, http_client=seen.sdk_client(),
                                  default_headers={"Cookie": f"{COOKIE_NAME}={cookie_value(TOKEN)}", "X-Session-ID": "s-canary-2"})
    for _ in range(4):
        for client in (sdk, own_key):
            try:
                client.messages.create(**ask, messages=history)
                with client.messages.stream(**ask, messages=history) as stream:
                    stream.get_final_message()
            except anthropic.APIError:
                pass  # a surfaced failure is fine here; what it says is checked below
    oai = openai.OpenAI(base_url=server.url + "/v1", api_key=TOKEN, max_retries=0, http_client=seen.sdk_client())
    oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}])
    with seen.client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        chat = http.post("/api/chat/sessions").json()["id"]
        http.post(f"/api/chat/sessions/{chat}/messages", json={"content": "hi"})
        http.post(f"/api/chat/sessions/{chat}/escalate", json={})
        server.flush()
        for path in ["/health", "/v1/models", "/sessions", "/sessions/s-canary", "/sessions/s-canary/transcript",
                     "/sessions/s-canary/attempts", "/sessions/s-canary/events", "/turns", "/attempts", "/events",
                     "/sitreps", "/attempts?format=table", "/events?format=table", "/sitrep/s-canary",
                     "/recovery/s-canary", f"/api/chat/sessions/{chat}", "/api/chat/sessions", "/dashboard", "/chat",
                     "/no-such-route"]:
            http.get(path)
        http.get("/sessions", headers={"Authorization": f"Bearer {TOKEN}x"})
        # a token in a query string stays out of Trooper's access log (urllib: the test's own client logs nothing)
        with pytest.raises(urllib.error.HTTPError):  # not a way in, either: 401
            urllib.request.urlopen(f"{server.url}/sessions?token={TOKEN}", timeout=20)
    assert len(fake_anthropic.requests) >= 10, "the scripted failures were all played"
    assert any(CLIENT_KEY == r.api_key for r in fake_anthropic.requests), "the client's own key was used upstream"
    server.flush()
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    return seen, logged, db


def test_no_key_in_logs_responses_or_store(scripted_session):
    seen, logged, db = scripted_session
    assert "receive_response_headers" in logged, "DEBUG logging was captured"
    assert leaks(logged) == []
    assert leaks("\n".join(seen.chunks)) == []
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert stored and CANARY.encode() not in stored


def test_doctor_names_keys_but_never_shows_them(tmp_path):
    env = {**os.environ, **ENV, "TROOPER_DB": str(tmp_path / "t.db"), "FALLBACK_URL": "http://127.0.0.1:9/api/chat",
           "TROOPER_EMBEDDED": "false", "TROOPER_PORT": "9"}
    result = subprocess.run([sys.executable, "-m", "trooper", "doctor"], env=env, capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).parents[2])
    assert "CLAUDE_API_KEY set" in result.stdout
    assert leaks(result.stdout + result.stderr) == []


ADDED_KEY = f"sk-ant-{CANARY}-added-while-running-0123456789"


def test_a_key_added_while_running_never_shows_either(fake_anthropic, fake_ollama, make_trooper, tmp_path, caplog):
    """Added from the chat page's form rather than the environment: the same nets hold — an upstream
    quoting it, the log at DEBUG, every answer, the store."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    fake_ollama.default = reply_text("local answer")
    fake_anthropic.enqueue(
        http_error(401, f"Incorrect API key provided: {ADDED_KEY}"),
        http_error(400, f"invalid key_{ADDED_KEY} for this org"),
        http_error(400, "encoded " + "".join(f"%{b:02X}" for b in ADDED_KEY.encode())),
    )
    fake_anthropic.default = reply_text("claude answer")
    db = tmp_path / "trooper.db"
    server = make_trooper(CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
                          TROOPER_DB=str(db), TROOPER_TOKEN=TOKEN, TROOPER_BREAKER_FAILURES="100")
    seen = Seen()
    with seen.client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        assert http.post("/api/cloud-keys", json={"provider": "claude", "key": ADDED_KEY}).status_code == 200
        http.post("/api/cloud-keys", json={"provider": "claude", "key": ADDED_KEY + " pasted twice"})
        chat = http.post("/api/chat/sessions").json()["id"]
        http.post(f"/api/chat/sessions/{chat}/messages", json={"content": "hi"})
        for _ in range(4):
            http.post(f"/api/chat/sessions/{chat}/escalate", json={})
        server.flush()
        for path in ["/health", "/api/cloud-keys", f"/api/chat/sessions/{chat}", f"/sessions/{chat}/transcript",
                     f"/sessions/{chat}/attempts", f"/sessions/{chat}/events", "/chat", "/dashboard"]:
            http.get(path)
    assert [r.api_key for r in fake_anthropic.requests] == [ADDED_KEY] * len(fake_anthropic.requests)
    assert "claude answer" in "\n".join(seen.chunks), "the key was used"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert leaks(logged) == []
    assert leaks("\n".join(seen.chunks)) == []
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert stored and CANARY.encode() not in stored
