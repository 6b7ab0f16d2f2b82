"""The Tornado application factory: every route of Trooper in one table."""

from __future__ import annotations

import tornado.web

from trooper.errors import TrooperError
from trooper.server import chat_api, info, pages, proxy, sessions_api
from trooper.server.base import BaseHandler
from trooper.server.state import AppState


class NotFoundHandler(BaseHandler):
    """Unknown routes get a JSON 404 that both SDKs can parse, whatever the method."""

    def prepare(self) -> None:
        raise TrooperError(404, f"no route for {self.request.method} {self.request.path}", "not_found_error")


def make_app(state: AppState) -> tornado.web.Application:
    routes = [*proxy.ROUTES, *info.ROUTES, *sessions_api.ROUTES, *chat_api.ROUTES, *pages.ROUTES]
    return tornado.web.Application(
        routes,
        trooper_state=state,
        default_handler_class=NotFoundHandler,
        compress_response=False,
        xsrf_cookies=False,
    )
