"""The jupyter-server-proxy entry: its config, and a real Jupyter server proxying to Trooper."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from tests.fakes.behaviours import reply_text
from tests.harness import DEFAULT_ENV
from tests.net import free_port, wait_for
from trooper.notebook.proxy import server_command, setup_trooper_proxy
from trooper.server.hosts import PROXY_KEY_HEADER

TOKEN = "jupyter-test-token"


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_config_points_the_launcher_at_the_dashboard(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("TROOPER_PORT", "3456")
    monkeypatch.setenv("TROOPER_PROXY_KEY_FILE", str(tmp_path / "proxy-key"))
    config = setup_trooper_proxy()
    assert config["request_headers_override"] == {PROXY_KEY_HEADER: (tmp_path / "proxy-key").read_text()}
    assert config["port"] == 3456 and config["absolute_url"] is False
    entry = config["launcher_entry"]
    assert entry["title"] == "Trooper" and entry["path_info"] == "trooper/dashboard"
    assert Path(entry["icon_path"]).read_text().startswith("<svg")
    assert config["timeout"] >= 60, "the first start may load the embedded model"


def test_command_attaches_to_a_running_trooper_or_starts_one(chat_setup):
    assert server_command(port_of(chat_setup.url)) == []
    port = free_port()
    assert server_command(port) == [sys.executable, "-m", "trooper", "serve", "--port", str(port)]


# ---------------------------------------------------------------- a real Jupyter server


class Jupyter:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.auth = {"Authorization": f"token {TOKEN}"}


@pytest.fixture
def start_jupyter(tmp_path: Path) -> Iterator[Callable[..., Jupyter]]:
    started: list[Jupyter] = []

    def start(*arguments: str, **env: str) -> Jupyter:
        env = {"TROOPER_PROXY_KEY_FILE": str(tmp_path / "proxy-key"), **env}  # the tester's ~/.trooper stays untouched
        config_dir = tmp_path / "jupyter-config"
        config_dir.mkdir(exist_ok=True)
        # Until the package declares its entry point, register the same function through config.
        if not any(ep.name == "trooper" for ep in entry_points(group="jupyter_serverproxy_servers")):
            (config_dir / "jupyter_server_config.py").write_text(
                "from trooper.notebook.proxy import setup_trooper_proxy\n"
                "c.ServerProxy.servers = {'trooper': setup_trooper_proxy()}\n"
            )
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--port={port}", "--ip=127.0.0.1", "--no-browser",
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}", "--allow-root", *arguments],
            env={**_base_env(), "JUPYTER_CONFIG_DIR": str(config_dir), **env},
            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "jupyter.log", "ab"),
        )
        jupyter = Jupyter(process, port)
        started.append(jupyter)
        wait_for(lambda: httpx.get(f"{jupyter.url}/api/status", headers=jupyter.auth).status_code == 200, 30, interval=0.2)
        return jupyter

    yield start
    for jupyter in started:
        jupyter.process.terminate()
        jupyter.process.wait(20)


def _base_env() -> dict[str, str]:
    import os

    return {name: value for name, value in os.environ.items() if not name.startswith("TROOPER_")}


@pytest.mark.jupyter
def test_dashboard_through_the_proxy_needs_jupyter_auth(chat_setup, start_jupyter):
    jupyter = start_jupyter(TROOPER_PORT=str(port_of(chat_setup.url)))
    anonymous = httpx.get(f"{jupyter.url}/trooper/dashboard", follow_redirects=False)
    assert anonymous.status_code in (302, 401, 403)
    assert "Trooper" not in anonymous.text

    page = httpx.get(f"{jupyter.url}/trooper/dashboard", headers=jupyter.auth)
    assert page.status_code == 200 and "<html" in page.text.lower()
    health = httpx.get(f"{jupyter.url}/trooper/health", headers=jupyter.auth).json()
    assert health["local"]["tier"] == "ollama", "the proxy attached to the Trooper already running"

    servers = httpx.get(f"{jupyter.url}/server-proxy/servers-info", headers=jupyter.auth).json()["server_processes"]
    tile = next(s for s in servers if s["name"] == "trooper")["launcher_entry"]
    assert tile["title"] == "Trooper" and tile["path_info"] == "trooper/dashboard"
    icon = httpx.get(jupyter.url + tile["icon_url"], headers=jupyter.auth)
    assert icon.status_code == 200 and icon.text.startswith("<svg")


@pytest.mark.jupyter
def test_event_stream_streams_through_the_proxy(chat_setup, start_jupyter):
    jupyter = start_jupyter(TROOPER_PORT=str(port_of(chat_setup.url)))
    base = f"{jupyter.url}/trooper/api/chat/sessions"
    with httpx.Client(headers=jupyter.auth, timeout=30) as client:
        session = client.post(base).json()["id"]
        chat_setup.ollama.enqueue(reply_text("one two three four five", chunk_delay=0.3))
        arrivals: list[float] = []
        with client.stream("POST", f"{base}/{session}/messages", json={"content": "count"},
                           headers={"Accept": "text/event-stream"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("event: delta"):
                    arrivals.append(time.monotonic())
    assert len(arrivals) == 5
    assert arrivals[-1] - arrivals[0] > 0.8, "deltas arrive as they are produced, not all at the end"


@pytest.mark.jupyter
def test_proxy_starts_trooper_when_none_runs(fake_ollama, tmp_path: Path, start_jupyter):
    port = free_port()
    env = {**DEFAULT_ENV, "FALLBACK_URL": fake_ollama.api_chat_url, "TROOPER_DB": str(tmp_path / "t.db"),
           "TROOPER_PORT": str(port)}
    jupyter = start_jupyter(**env)
    health = httpx.get(f"{jupyter.url}/trooper/health", headers=jupyter.auth, timeout=90)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    direct = httpx.get(f"http://127.0.0.1:{port}/health").json()
    assert direct["local"]["tier"] == "ollama", "kernels find the same server on TROOPER_PORT"
    assert json.loads(health.text)["version"] == direct["version"]


def test_jupyter_starts_without_a_place_for_the_proxy_key(monkeypatch, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("TROOPER_PROXY_KEY_FILE", str(blocker / "proxy-key"))  # its directory cannot be made
    assert setup_trooper_proxy()["request_headers_override"] == {}


@pytest.mark.jupyter
def test_a_public_jupyter_host_reaches_trooper_and_a_rebinding_page_does_not(make_trooper, fake_ollama, start_jupyter,
                                                                              tmp_path: Path):
    """On Binder or a hub, the browser's Host is a public name, which Jupyter forwards to Trooper."""
    key_file = str(tmp_path / "proxy-key")
    trooper = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_PROXY_KEY_FILE=key_file)
    jupyter = start_jupyter("--ServerApp.allow_remote_access=True", TROOPER_PORT=str(port_of(trooper.url)),
                            TROOPER_PROXY_KEY_FILE=key_file)
    public = {**jupyter.auth, "Host": "hub.example.org"}
    through_jupyter = httpx.get(f"{jupyter.url}/trooper/health", headers=public)
    assert through_jupyter.status_code == 200, through_jupyter.text
    chat = httpx.post(f"{jupyter.url}/trooper/api/chat/sessions", headers={**public, "Origin": "http://hub.example.org"})
    assert chat.status_code in (200, 201), "the chat page's POSTs pass the Origin check too"
    rebinding = httpx.get(f"{trooper.url}/health", headers={"Host": "hub.example.org"})
    assert rebinding.status_code == 403, "a page rebinding a name to 127.0.0.1 has no key"


@pytest.mark.jupyter
@pytest.mark.browser
def test_sign_in_behind_the_proxy_in_a_browser(make_trooper, fake_ollama, start_jupyter):
    """A Trooper with TROOPER_TOKEN behind jupyter-server-proxy: the relative redirect, the form,
    the cookie scoped to /trooper/, the page's own API calls, and signing out, in Chromium."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    token = "Q7r2Lx9mWc4Tz8Hn3Vb6Kd1P"
    trooper = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_TOKEN=token)
    jupyter = start_jupyter(TROOPER_PORT=str(port_of(trooper.url)))
    base = f"{jupyter.url}/trooper"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{jupyter.url}/lab?token={TOKEN}")  # signed in to Jupyter first, as a user is
            page.goto(f"{base}/dashboard")
            expect(page).to_have_url(f"{base}/login?next=dashboard")
            page.fill("input[name=token]", token)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/dashboard")
            expect(page.locator("#live-status")).to_have_text("Live")
            expect(page.locator("#sign-out")).to_be_visible()
            page.click("#sign-out button")
            expect(page).to_have_url(f"{base}/login")
            page.goto(f"{base}/chat")
            expect(page).to_have_url(f"{base}/login?next=chat")
        finally:
            browser.close()
