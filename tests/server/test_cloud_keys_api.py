"""``/api/cloud-keys``: a key added while the server runs is used from the next turn on — routing,
escalation, ``/health``, the chat's ``cloud_available``, the recovery prober, tokens saved — kept in
memory unless saving is asked for; bad input is a 400 in the chat API's shape; no answer shows a key."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.chat_sse import post_sse
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.behaviours import reply_text, server_error

KEY = "sk-ant-added-at-runtime-0123456789abcdef"
TOKEN = "trooper-access-token-0123456789"


@pytest.fixture
def claude() -> Iterator[FakeAnthropic]:
    """A fake Claude that refuses any key but ``KEY``: an answer proves the added key was sent."""
    with FakeAnthropic(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def local_only(claude, fake_ollama, make_trooper, tmp_path):  # type: ignore[no-untyped-def]
    """Local-only at start (Claude's URL is known, its key is not); saving goes to a temporary file."""
    server = make_trooper(
        CLAUDE_URL=claude.messages_url, FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_KEYS_FILE=str(tmp_path / "keys.env")
    )
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client


def add_key(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/api/cloud-keys", json={"provider": "claude", "key": KEY, **body})


def test_a_key_added_while_running_is_used_at_once(local_only, claude, fake_ollama, tmp_path: Path) -> None:
    server, client = local_only
    assert client.get("/health").json()["escalation"] == []
    chat = client.post("/api/chat/sessions").json()["id"]
    fake_ollama.default = reply_text("A local answer.")
    post_sse(client, f"/api/chat/sessions/{chat}/messages", {"content": "What is a breaker?"})
    assert client.get(f"/api/chat/sessions/{chat}").json()["cloud_available"] is False
    assert post_sse(client, f"/api/chat/sessions/{chat}/escalate")[-1][0] == "error", "nothing to escalate to yet"
    assert client.get(f"/api/chat/sessions/{chat}").json()["stats"]["tokens_saved"] == 0, "no cloud: nothing saved"

    added = add_key(client)
    assert added.status_code == 200, added.text
    assert KEY not in added.text and KEY[-4:] not in added.text
    status = added.json()
    assert status["added"] == "claude" and status["saved"] is False and status["escalation"] == ["claude"]
    assert {p["name"]: (p["configured"], p["source"]) for p in status["providers"]} == {
        "claude": (True, "memory"), "gemini": (False, None), "openai": (False, None),
    }
    assert not (tmp_path / "keys.env").exists(), "kept in memory only: nothing written"

    health = client.get("/health").json()
    assert health["cloud"] == ["claude"] and health["escalation"] == ["claude"]
    assert client.get(f"/api/chat/sessions/{chat}").json()["cloud_available"] is True
    assert "claude" in {m["owned_by"] for m in client.get("/v1/models").json()["data"]}

    claude.enqueue(reply_text("The cloud's answer."))
    done = post_sse(client, f"/api/chat/sessions/{chat}/escalate")[-1]
    assert done[0] == "done" and done[1]["provider"] == "claude", done
    assert claude.requests[-1].api_key == KEY
    client.post(f"/api/chat/sessions/{chat}/return")
    post_sse(client, f"/api/chat/sessions/{chat}/messages", {"content": "And a half-open one?"})
    assert client.get(f"/api/chat/sessions/{chat}").json()["stats"]["tokens_saved"] > 0, "a cloud is configured now"
    assert KEY not in client.get(f"/api/chat/sessions/{chat}").text and KEY not in client.get("/api/cloud-keys").text


def test_the_recovery_prober_watches_a_provider_added_while_running(claude, fake_ollama, make_trooper) -> None:
    server = make_trooper(
        CLAUDE_URL=claude.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
        TROOPER_BREAKER_FAILURES="1", TROOPER_BREAKER_COOLDOWN="0.5", AUTO_RECOVERY="true",
    )
    fake_ollama.default = reply_text("local")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert add_key(client).status_code == 200
        claude.enqueue(server_error(500), server_error(500))  # the turn and its one retry: the breaker opens
        headers = {"X-Trooper-Route": "cloud", "X-Session-ID": "s-probe"}
        body = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/v1/messages", json=body, headers=headers).headers["x-trooper-provider"] == "ollama"
        assert client.get("/health").json()["breakers"]["claude"] == "open"
        claude.default = reply_text("back")
        deadline = time.monotonic() + 10
        while client.get("/health").json()["breakers"]["claude"] != "closed":
            assert time.monotonic() < deadline, "the prober never probed the added provider"
            time.sleep(0.05)
        assert any(r.json.get("max_tokens") == 1 for r in claude.requests), "closed by the one-token probe"


def test_saving_writes_a_0600_file(local_only, tmp_path: Path) -> None:
    _, client = local_only
    answer = add_key(client, save=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["saved"] is True and KEY not in answer.text
    saved = tmp_path / "keys.env"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert f"CLAUDE_API_KEY={KEY}" in saved.read_text().splitlines()
    claude_status = next(p for p in client.get("/api/cloud-keys").json()["providers"] if p["name"] == "claude")
    assert claude_status == {"name": "claude", "variable": "CLAUDE_API_KEY", "configured": True, "source": "file"}


def test_saving_without_a_keys_file_is_refused_and_changes_nothing(claude, make_trooper) -> None:
    server = make_trooper(CLAUDE_URL=claude.messages_url)  # the harness sets TROOPER_KEYS_FILE to ""
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/cloud-keys").json()["keys_file"] is None
        refused = add_key(client, save=True)
        assert refused.status_code == 400 and "TROOPER_KEYS_FILE" in refused.json()["error"]["message"]
        assert client.get("/health").json()["cloud"] == []


def test_a_save_that_fails_changes_nothing(claude, make_trooper, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    server = make_trooper(CLAUDE_URL=claude.messages_url, TROOPER_KEYS_FILE=str(blocked / "keys.env"))
    with httpx.Client(base_url=server.url) as client:
        failed = add_key(client, save=True)
        assert failed.status_code == 500 and "could not be saved" in failed.json()["error"]["message"]
        assert KEY not in failed.text
        assert client.get("/health").json()["cloud"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": KEY}, "provider"),
        ({"provider": "mistral", "key": KEY}, "provider"),
        ({"provider": ["claude"], "key": KEY}, "provider"),
        ({"provider": "claude"}, "key"),
        ({"provider": "claude", "key": ""}, "key"),
        ({"provider": "claude", "key": 12345}, "key"),
        ({"provider": "claude", "key": "sk-ant-short"}, "key"),
        ({"provider": "claude", "key": KEY * 20}, "key"),
        ({"provider": "claude", "key": KEY + " trailing words"}, "key"),
        ({"provider": "claude", "key": KEY + "\nCLAUDE_URL=http://evil"}, "key"),
        ({"provider": "claude", "key": KEY + '"quoted'}, "key"),
        ({"provider": "claude", "key": KEY + "é"}, "key"),
        ({"provider": "claude", "key": KEY, "save": "yes"}, "save"),
    ],
)
def test_bad_input_is_a_400_in_the_chat_api_shape_that_never_quotes_the_key(local_only, body, field) -> None:
    _, client = local_only
    response = client.post("/api/cloud-keys", json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(f"{field}:")
    assert KEY not in response.text and "sk-ant-short" not in response.text
    assert client.get("/health").json()["cloud"] == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "", "application/xml"])
def test_the_key_is_taken_as_json_only(local_only, content_type: str) -> None:
    _, client = local_only
    body = f'{{"provider": "claude", "key": "{KEY}"}}'.encode()
    response = client.post("/api/cloud-keys", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 415 and "application/json" in response.json()["error"]["message"]
    assert client.get("/health").json()["cloud"] == []


def test_the_access_gate_and_the_cross_site_check_apply(claude, make_trooper) -> None:
    server = make_trooper(CLAUDE_URL=claude.messages_url, TROOPER_TOKEN=TOKEN)
    with httpx.Client(base_url=server.url) as client:
        assert add_key(client).status_code == 401
        assert client.get("/api/cloud-keys").status_code == 401
        evil = {"Authorization": f"Bearer {TOKEN}", "Origin": "https://evil.example"}
        assert client.post("/api/cloud-keys", json={"provider": "claude", "key": KEY}, headers=evil).status_code == 403
        assert client.get("/health").json()["cloud"] == []
        signed = client.post("/api/cloud-keys", json={"provider": "claude", "key": KEY}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert signed.status_code == 200 and client.get("/health").json()["cloud"] == ["claude"]
