"""DNS rebinding: a Trooper on loopback without a token answers only loopback host names,
or a request carrying the proxy key jupyter-server-proxy sends."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text
from trooper.config import Settings
from trooper.server.hosts import PROXY_KEY_HEADER, checks_host, ensure_proxy_key, host_name, is_loopback_name

REBOUND = "rebound.example:3000"
MESSAGE = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("host", "name"),
    [("localhost:3000", "localhost"), ("127.0.0.1", "127.0.0.1"), ("[::1]:3000", "::1"), ("[::1]", "::1"),
     ("Example.COM:80", "example.com"), ("::1", "::1"), ("host:", "host:")],
)
def test_host_name_drops_the_port_and_brackets(host, name):
    assert host_name(host) == name


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST", "localhost.", "app.localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]"])
def test_loopback_names(name):
    assert is_loopback_name(name)


@pytest.mark.parametrize(
    "name", ["0.0.0.0", "::", "192.168.1.5", "rebound.example", "localhost.example", "127.0.0.1.nip.io", "notlocalhost", ""]
)
def test_other_names_are_not_loopback(name):
    assert not is_loopback_name(name)


def test_only_a_tokenless_loopback_trooper_checks_the_host():
    assert checks_host(Settings(bind="127.0.0.1"))
    assert checks_host(Settings(bind="localhost"))
    assert not checks_host(Settings(bind="127.0.0.1", token="t0ken"))
    assert not checks_host(Settings(bind="0.0.0.0"))  # --insecure: reached by other names on purpose


def test_the_proxy_key_is_created_once_readable_by_its_owner_only(tmp_path: Path):
    path = tmp_path / "fresh" / "proxy-key"
    key = ensure_proxy_key(str(path))
    assert len(key) >= 40 and ensure_proxy_key(str(path)) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["proxy-key"], "no temporary file left behind"


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path):
    path = str(tmp_path / "proxy-key")
    keys: list[str] = []
    start = threading.Barrier(8)

    def create() -> None:
        start.wait()
        keys.append(ensure_proxy_key(path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert os.listdir(tmp_path) == ["proxy-key"]


# ---------------------------------------------------------------- a running Trooper


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "proxy-key"


@pytest.fixture
def trooper(make_trooper, fake_ollama, key_file):
    fake_ollama.default = reply_text("local answer")
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_PROXY_KEY_FILE=str(key_file))


def test_a_rebound_name_is_refused_in_each_protocol_and_nothing_is_stored(trooper):
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        anthropic.Anthropic(base_url=trooper.url, api_key="local", max_retries=0,
                            default_headers={"Host": REBOUND}).messages.create(**MESSAGE)
    assert refused.value.body["error"]["type"] == "permission_error"
    assert "rebound.example" in refused.value.message and "127.0.0.1" in refused.value.message
    with pytest.raises(openai.PermissionDeniedError):
        openai.OpenAI(base_url=trooper.url + "/v1", api_key="local", max_retries=0,
                      default_headers={"Host": REBOUND}).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    with httpx.Client(base_url=trooper.url) as client:
        for method, path in [("GET", "/dashboard"), ("GET", "/sessions"), ("GET", "/health"), ("POST", "/api/chat/sessions")]:
            assert client.request(method, path, headers={"Host": REBOUND}).status_code == 403, path
        trooper.flush()
        assert client.get("/sessions").json()["sessions"] == [], "a refused request leaves nothing behind"
        assert client.post("/v1/messages", json=MESSAGE).status_code == 200, "the server keeps serving"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.3.2.1:80", "[::1]:3000", "chat.localhost:3000", "LocalHost."])
def test_loopback_names_are_served(trooper, host):
    response = httpx.post(trooper.url + "/v1/messages", json=MESSAGE, headers={"Host": host})
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "local answer"


def test_any_address_is_not_a_name_of_this_machine(trooper):
    # "0.0.0.0 day": browsers let pages send requests to 0.0.0.0, which reaches loopback servers.
    assert httpx.get(trooper.url + "/health", headers={"Host": "0.0.0.0:3000"}).status_code == 403


def test_the_proxy_key_lets_a_public_name_through(trooper, key_file):
    key = ensure_proxy_key(str(key_file))
    with httpx.Client(base_url=trooper.url, headers={"Host": "hub.example.org"}) as client:
        assert client.get("/health", headers={PROXY_KEY_HEADER: key}).status_code == 200
        assert client.post("/v1/messages", json=MESSAGE, headers={PROXY_KEY_HEADER: key}).status_code == 200
        assert client.get("/health", headers={PROXY_KEY_HEADER: key[:-1] + "x"}).status_code == 403
        assert client.get("/health", headers={PROXY_KEY_HEADER: ""}).status_code == 403


def test_no_key_file_no_public_names(trooper, key_file):
    assert not key_file.exists()
    for offered in ["guess", ""]:
        response = httpx.get(trooper.url + "/health", headers={"Host": "hub.example.org", PROXY_KEY_HEADER: offered})
        assert response.status_code == 403, offered
    assert not key_file.exists(), "the server reads the key, only the Jupyter side creates it"


def test_with_a_token_the_token_is_the_guard(make_trooper, fake_ollama):
    fake_ollama.default = reply_text("local answer")
    guarded = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_TOKEN="host-test-token-0123456789")
    with httpx.Client(base_url=guarded.url, headers={"Host": "trooper.internal:3000"}) as client:
        assert client.post("/v1/messages", json=MESSAGE).status_code == 401
        ok = client.post("/v1/messages", json=MESSAGE, headers={"x-api-key": "host-test-token-0123456789"})
        assert ok.status_code == 200
