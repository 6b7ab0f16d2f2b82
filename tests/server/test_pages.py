"""The pages, their static assets and ``POST api/render``, served by a real Tornado server."""

from __future__ import annotations

import json
import re
import socket
from typing import AsyncIterator

import httpx
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web

from trooper.config import Settings
from trooper.server import pages
from trooper.server.state import AppState


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # These handlers never touch the store, so the state carries none.
    state = AppState(settings=Settings(), store=None)  # type: ignore[arg-type]
    app = tornado.web.Application(pages.ROUTES, trooper_state=state)
    server = tornado.httpserver.HTTPServer(app)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1", family=socket.AF_INET)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as http:
        yield http
    server.stop()
    await server.close_all_connections()


@pytest.mark.parametrize("path", ["/dashboard", "/chat"])
async def test_pages_are_html_with_a_strict_content_security_policy(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/dashboard", "/chat"])
async def test_pages_have_no_inline_script_and_only_relative_urls(client: httpx.AsyncClient, path: str) -> None:
    html = (await client.get(path)).text
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        assert "src=" in match.group(1), "inline script would be blocked by the CSP"
        assert match.group(2).strip() == ""
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    for url in re.findall(r'(?:href|src)="([^"]*)"', html):
        assert not url.startswith(("/", "http:", "https:")), f"{url} is not relative"


async def test_every_asset_a_page_names_is_served(client: httpx.AsyncClient) -> None:
    for page in ("/dashboard", "/chat"):
        html = (await client.get(page)).text
        for asset in re.findall(r'(?:href|src)="(static/[^"]+)"', html):
            response = await client.get(f"/{asset}")
            assert response.status_code == 200, asset
            expected = {"css": "text/css", "js": "javascript", "svg": "image/svg+xml"}[asset.rsplit(".", 1)[1]]
            assert expected in response.headers["content-type"], asset


async def test_module_imports_between_scripts_resolve(client: httpx.AsyncClient) -> None:
    for script in ("dashboard.js", "chat.js"):
        source = (await client.get(f"/static/{script}")).text
        for imported in re.findall(r'from "\./([^"]+)"', source):
            assert (await client.get(f"/static/{imported}")).status_code == 200, imported


async def test_static_files_cannot_escape_their_folder(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/..%2Fpages.py")
    assert response.status_code in (403, 404)
    assert "ROUTES" not in response.text


async def test_missing_static_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/static/no-such-file.js")).status_code == 404


async def test_root_redirects_relatively_to_chat(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code in (301, 302)
    assert response.headers["location"] == "chat"


async def test_render_returns_sanitised_html_in_order(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/render",
        json={"texts": ["**bold**", "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "![s](https://evil.example/?q=1)"]},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    html = response.json()["html"]
    assert html[0] == "<p><strong>bold</strong></p>\n"
    assert "<img" not in html[1] and "&lt;img" in html[1]
    assert "href" not in html[2]
    assert "evil.example" not in html[3] and "[image removed: s]" in html[3]


async def test_render_accepts_json_with_a_charset(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/render", content=json.dumps({"texts": ["hi"]}), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.json() == {"html": ["<p>hi</p>\n"]}


async def test_render_rejects_other_content_types_with_415(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/render", content='{"texts": ["x"]}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "application/json" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"texts": "one"}', '"texts" must be a list'),
        ('{"texts": ["ok", 3]}', '"texts"[1] must be a string'),
        ("{}", '"texts" must be a list'),
    ],
)
async def test_render_rejects_bad_bodies_with_400(client: httpx.AsyncClient, body: str, message: str) -> None:
    response = await client.post("/api/render", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]


async def test_render_limits_the_batch_and_each_text(client: httpx.AsyncClient) -> None:
    too_many = await client.post("/api/render", json={"texts": ["x"] * (pages.MAX_RENDER_TEXTS + 1)})
    assert too_many.status_code == 413
    too_long = await client.post("/api/render", json={"texts": ["x" * (pages.MAX_RENDER_TEXT_CHARS + 1)]})
    assert too_long.status_code == 413
    assert '"texts"[0]' in too_long.json()["error"]["message"]


async def test_render_checks_the_body_size_as_it_arrives(client: httpx.AsyncClient) -> None:
    """A body past 4 MB is refused while it streams in, not after buffering up to Tornado's 100 MB."""

    async def chunks():
        for _ in range(pages.MAX_RENDER_BODY_BYTES // 65536 + 8):
            yield b" " * 65536  # chunked: no Content-Length to refuse it by

    response = await client.post("/api/render", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "larger than the limit" in response.json()["error"]["message"]


async def test_render_answers_get_with_405(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/render")).status_code == 405


@pytest.mark.parametrize("path", ["/chat", "/dashboard"])
async def test_pages_answer_head(client: httpx.AsyncClient, path: str) -> None:
    response = await client.head(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
