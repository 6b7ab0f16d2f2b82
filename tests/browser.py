"""Debian's Chromium driven by Playwright, for every browser test (never a downloaded browser)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
#: Headless as root, and quiet: this machine's network is closed, so no background requests.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "img"


class Watched:
    """A page plus what it did that it must not: dialogs, script errors, requests off this host."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.remote_requests: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._request)

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(request.url).hostname
        if host not in ("127.0.0.1", None):
            self.remote_requests.append(request.url)
