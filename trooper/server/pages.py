"""The browser pages (/dashboard, /chat), their static assets, and the Markdown render endpoint.

The pages are plain HTML files in ``static/``; every script is a static file too, so the
Content-Security-Policy can forbid inline script. All URLs inside the pages are relative, which is
what lets the same files work at ``/``, behind jupyter-server-proxy and under a JupyterHub prefix.

Rendering model text: while an answer streams, the page shows it as plain text (``textContent``);
when it is done the server sends the sanitised HTML (``render_markdown``) and the page swaps it in.
The dashboard renders stored transcripts through ``POST api/render`` for the same reason: only the
server turns Markdown into HTML.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import tornado.web

from trooper.errors import TrooperError
from trooper.markdown_html import render_markdown
from trooper.server.body import LimitedBodyHandler

STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # data: for the rare inline icon; remote images are never needed (and render_markdown drops them).
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])

#: Limits of one ``POST api/render`` call: a dashboard page of transcript, not a corpus.
MAX_RENDER_TEXTS = 200
MAX_RENDER_TEXT_CHARS = 200_000
MAX_RENDER_BODY_BYTES = 4_000_000


def _set_page_security_headers(handler: tornado.web.RequestHandler) -> None:
    handler.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    handler.set_header("X-Content-Type-Options", "nosniff")
    # "same-origin", not "no-referrer": a form the page posts to Trooper (sign out) must carry its
    # real Origin, and no other site learns the page's address either way.
    handler.set_header("Referrer-Policy", "same-origin")


class _PageHandler(tornado.web.RequestHandler):
    """Serves one HTML file from ``static/``."""

    page: str

    def set_default_headers(self) -> None:
        _set_page_security_headers(self)
        self.set_header("Cache-Control", "no-cache")

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish((STATIC_DIR / self.page).read_bytes())

    head = get  # monitors and link checkers ask with HEAD; Tornado sends the headers only


class DashboardPage(_PageHandler):
    page = "dashboard.html"


class ChatPage(_PageHandler):
    page = "chat.html"


class RootRedirect(tornado.web.RequestHandler):
    def get(self) -> None:
        # Relative, so ``/trooper/`` behind a proxy lands on ``/trooper/chat``.
        self.redirect("chat")

    head = get


class StaticAssets(tornado.web.StaticFileHandler):
    """The pages' CSS and JS, shipped in the package (no CDN: Trooper works offline)."""

    def initialize(self) -> None:  # type: ignore[override]  # the route passes no path: it is fixed here
        super().initialize(path=str(STATIC_DIR))

    def set_default_headers(self) -> None:
        _set_page_security_headers(self)

    def set_extra_headers(self, path: str) -> None:
        # Revalidate every load: the pages are not fingerprinted, and an upgrade must take effect.
        self.set_header("Cache-Control", "no-cache")


class RenderMarkdown(LimitedBodyHandler):
    """``POST api/render`` ``{"texts": [...]}`` → ``{"html": [...]}``, for stored transcripts."""

    def body_limit(self) -> int:
        return MAX_RENDER_BODY_BYTES  # checked as the body arrives, not after buffering it whole

    async def post(self) -> None:
        self.require_json_content_type("the texts")
        self.read_body()
        texts = _texts_to_render(self.json_body())
        # Rendering a large batch is CPU work: keep it off the event loop.
        html = await asyncio.get_running_loop().run_in_executor(None, _render_all, texts)
        self.write_json({"html": html})


def _texts_to_render(body: dict[str, object]) -> list[str]:
    texts = body.get("texts")
    if not isinstance(texts, list):
        raise TrooperError(400, '"texts" must be a list of strings')
    if len(texts) > MAX_RENDER_TEXTS:
        raise TrooperError(413, f'"texts" holds {len(texts)} items; at most {MAX_RENDER_TEXTS} per call')
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TrooperError(400, f'"texts"[{index}] must be a string, not {type(text).__name__}')
        if len(text) > MAX_RENDER_TEXT_CHARS:
            raise TrooperError(413, f'"texts"[{index}] is longer than {MAX_RENDER_TEXT_CHARS} characters')
    return texts


def _render_all(texts: list[str]) -> list[str]:
    return [render_markdown(text) for text in texts]


ROUTES: list[tuple[str, type]] = [
    (r"/", RootRedirect),
    (r"/dashboard", DashboardPage),
    (r"/chat", ChatPage),
    (r"/api/render", RenderMarkdown),
    (r"/static/(.*)", StaticAssets),
]
