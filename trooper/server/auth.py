"""Access control: who may call Trooper, and what a web page on another site may make a browser do.

- With ``TROOPER_TOKEN`` set, every route but ``/health``, ``/login`` and the static assets needs
  the token: ``Authorization: Bearer <token>``, ``x-api-key: <token>`` (what the SDKs send as their
  API key) or the cookie the ``/login`` form sets for the pages. The header that carried the token
  is removed once checked, so no front door can mistake it for a provider key and send it upstream.
- Without a token, a Trooper on loopback answers only requests that name it by a loopback host
  (``trooper.server.hosts``: the defence against DNS rebinding).
- A wrong token is answered slowly, and only a few wrong ones wait at once (``guesses``):
  guessing is capped at a few per second from anywhere, and a right token is never slowed.
- Whatever the token, a browser request from another site cannot change anything: a request other
  than GET/HEAD whose ``Origin`` (or ``Referer``) names another host, or a plain-``http`` page when
  the browser reached Trooper over ``https``, gets a 403, and the chat API takes JSON only (the body
  types an HTML form can send without a CORS preflight get a 415).

The threat model is in ``docs/security.md``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from typing import Any
from urllib.parse import urlsplit

import tornado.httputil
import tornado.web

from trooper.config import Settings
from trooper.errors import TrooperError
from trooper.server.base import BaseHandler
from trooper.server.hosts import host_refusal
from trooper.server.secret import bearer_token, same_secret
from trooper.wire import openai

COOKIE_NAME = "trooper_login"
#: A cookie the pages can read (it holds no secret) that says a sign-in happened: they offer "Sign out".
SIGNED_IN_COOKIE = "trooper_signed_in"
OPEN_PATHS = frozenset({"/health", "/login", "/logout"})
OPEN_PREFIX = "/static/"
#: Browser pages: an unauthenticated visit goes to the login form instead of getting a 401.
PAGES = {"/": "chat", "/chat": "chat", "/dashboard": "dashboard"}
#: The OpenAI front doors (Chat Completions, Responses and its kept responses): refused in OpenAI's error shape.
OPENAI_PATHS = re.compile(r"(/v1)?/(chat/completions|responses(/[^/]+)?)")
#: Body types a cross-site HTML form (or a no-CORS fetch) can send without a preflight.
FORM_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_value(token: str) -> str:
    """The login cookie holds a MAC of the token, not the token: a stolen cookie is not the API key."""
    return hmac.new(token.encode(), b"trooper login cookie", hashlib.sha256).hexdigest()


def take_credentials(request: tornado.httputil.HTTPServerRequest, token: str) -> bool:
    """Whether the request carries the token; a header that carried it is removed from the request."""
    authenticated = False
    if same_secret(bearer_token(request.headers.get("Authorization")), token):
        del request.headers["Authorization"]
        authenticated = True
    if same_secret(request.headers.get("x-api-key"), token):
        del request.headers["x-api-key"]
        authenticated = True
    if authenticated:
        return True
    cookie = request.cookies.get(COOKIE_NAME)
    return cookie is not None and same_secret(cookie.value, cookie_value(token))


def offers_credentials(request: tornado.httputil.HTTPServerRequest) -> bool:
    """Whether the request tries a token (a header or the login cookie), right or wrong."""
    return "Authorization" in request.headers or "x-api-key" in request.headers or COOKIE_NAME in request.cookies


def browser_scheme(request: tornado.httputil.HTTPServerRequest) -> str:
    """The scheme the browser used: a TLS-terminating proxy's ``X-Forwarded-Proto``, else the
    connection's own. Trusting the header is safe here: a page on another site cannot add it to a
    request without a CORS preflight, which Trooper never grants, and a client that lies about it
    only gets cookies it cannot send back over plain http."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded if forwarded in ("http", "https") else request.protocol


def _foreign_origin(source: str, request: tornado.httputil.HTTPServerRequest) -> bool:
    """Whether ``Origin``/``Referer`` names another site. An ``https`` page reaching an ``http``
    Trooper is the usual TLS-terminating proxy; an ``http`` page reaching Trooper over ``https``
    is not this site (a network attacker can write plain-http pages under the same name)."""
    origin = urlsplit(source)
    if origin.scheme not in ("http", "https") or origin.netloc.lower() != request.host.lower():
        return True
    return origin.scheme == "http" and browser_scheme(request) == "https"


def cross_site_refusal(request: tornado.httputil.HTTPServerRequest) -> TrooperError | None:
    """A 403/415 for a browser request another site made, else None."""
    if request.method in SAFE_METHODS:
        return None
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is not None and _foreign_origin(source, request):
        return TrooperError(403, f"cross-site request refused: {source[:100]!r} is not {request.host!r}", "permission_error")
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    # An empty body carries no form fields; proxies (Tornado's client under jupyter-server-proxy)
    # label even an empty POST as a form, and the Origin check above still applies to it.
    has_body = request.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in request.headers
    if request.path.startswith("/api/") and has_body and content_type in FORM_CONTENT_TYPES:
        return TrooperError(415, f"send JSON with Content-Type: application/json, not {content_type}")
    return None


def access_refusal(request: tornado.httputil.HTTPServerRequest, settings: Settings) -> TrooperError | None:
    """Why this request may not reach its handler, or None when it may."""
    refusal = host_refusal(request, settings) or cross_site_refusal(request)
    token = settings.token
    if refusal is not None or not token:
        return refusal
    if request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIX) or take_credentials(request, token):
        return None
    refusal = TrooperError(
        401, "this Trooper needs its access token: send Authorization: Bearer <TROOPER_TOKEN> or x-api-key",
        "authentication_error",
    )
    refusal.headers["WWW-Authenticate"] = 'Bearer realm="trooper"'
    return refusal


@tornado.web.stream_request_body
class RefusedHandler(BaseHandler):
    """Answers a refused request in the caller's protocol shape; its body is read and dropped, not kept."""

    def initialize(self, refusal: TrooperError) -> None:
        self.refusal = refusal

    def data_received(self, chunk: bytes) -> None:
        pass

    def error_body(self, status: int, error_type: str, message: str) -> dict[str, Any]:
        if OPENAI_PATHS.fullmatch(self.request.path):
            return openai.encode_error(status, error_type, message)
        return super().error_body(status, error_type, message)

    async def refuse(self, *args: str) -> None:
        if self.refusal.status == 401 and offers_credentials(self.request):
            await self.state.guess_throttle.wrong_guess()  # before any answer: a redirect says "wrong" too
        page = PAGES.get(self.request.path)
        if self.refusal.status == 401 and page is not None and self.request.method in ("GET", "HEAD"):
            # Relative, so the same page works at / and behind a proxy prefix.
            self.redirect(f"login?next={page}")
            return
        raise self.refusal

    get = head = post = put = patch = delete = options = refuse


LOGIN_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Trooper · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="static/trooper.css"></head>
<body><main class="login">
<h1>Trooper</h1>
<form method="post" action="login?next={next}">
<label>Access token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<button type="submit">Sign in</button>
</form>
<p class="error" role="alert">{error}</p>
</main></body></html>
"""
LOGIN_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"


class LoginHandler(BaseHandler):
    """``GET /login``: the form; ``POST /login`` (``token=``): sets the login cookie and goes to the page."""

    def get(self) -> None:
        if not self.state.settings.token:
            self.redirect(self._next_page())
            return
        self._form("")

    async def post(self) -> None:
        token = self.state.settings.token
        if not token:
            self.redirect(self._next_page(), status=303)
            return
        if not same_secret(self.get_body_argument("token", ""), token):
            try:
                await self.state.guess_throttle.wrong_guess()
            except TrooperError as busy:
                self.set_status(busy.status)
                self.set_header("Retry-After", busy.headers["retry-after"])
                self._form("Too many wrong tokens are being tried at once: wait a second and try again.")
                return
            self.set_status(401)
            self._form("That is not the access token (TROOPER_TOKEN).")
            return
        secure = browser_scheme(self.request) == "https"
        self.set_cookie(COOKIE_NAME, cookie_value(token), path="", httponly=True, samesite="Strict", secure=secure)
        self.set_cookie(SIGNED_IN_COOKIE, "1", path="", samesite="Strict", secure=secure)
        self.redirect(self._next_page(), status=303)

    def _next_page(self) -> str:
        # Only a known page: a free-form "next" would make the form an open redirect.
        wanted = self.get_query_argument("next", "chat")
        return wanted if wanted in PAGES.values() else "chat"

    def _form(self, error: str) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", LOGIN_CSP)
        # Not "no-referrer": with it a browser posts the form with "Origin: null", which the
        # cross-site gate must refuse. "same-origin" sends the real origin to Trooper, and nothing
        # to anyone else.
        self.set_header("Referrer-Policy", "same-origin")
        self.finish(LOGIN_FORM.format(next=self._next_page(), error=html.escape(error)))


class LogoutHandler(BaseHandler):
    """``POST /logout``: forgets the login cookie and goes back to the sign-in form.

    Open (a stale cookie must still be able to sign out), and a POST, so the cross-site gate
    stops another site from signing a user out.
    """

    def post(self) -> None:
        self.clear_cookie(COOKIE_NAME, path="")
        self.clear_cookie(SIGNED_IN_COOKIE, path="")
        self.redirect("login", status=303)


ROUTES: list[tuple[str, type]] = [(r"/login", LoginHandler), (r"/logout", LogoutHandler)]
