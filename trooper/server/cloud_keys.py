"""Cloud keys added while the server runs (the chat page's "Add a cloud key", ``trooper.configure``).

A key added here takes effect for the next turn, without a restart: the cloud chain is rebuilt and
handed to the router, and everything that asks the router (``/health``, the chat page's
``cloud_available``, the recovery prober, what counts as tokens saved) follows. The key is kept in
this process's memory only, unless the person asks to save it in the keys file (mode 0600), which
``trooper serve`` reads at its next start. It is remembered by ``trooper.redaction`` before
anything else happens, and no answer, log line or stored record ever holds it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any, Literal

import aiohttp

from trooper.config import KEY_VARIABLES, Settings
from trooper.errors import InvalidRequest, TrooperError
from trooper.providers.cloud import build_cloud_chain
from trooper.redaction import remember_secret
from trooper.routing.router import Router
from trooper.saved_keys import save_key

log = logging.getLogger("trooper")

MIN_KEY_CHARS, MAX_KEY_CHARS = 20, 512
#: Loose on purpose (gateways issue keys of their own shapes), but a key goes into an HTTP header
#: and a file: no whitespace, no quotes, nothing outside ASCII.
_KEY_SHAPE = re.compile(r"[A-Za-z0-9._~+/=:-]+")

#: Where a provider's key came from: the settings at start, or added while running (kept in
#: memory only, or also saved to the keys file).
KeySource = Literal["settings", "memory", "file"]


def check_key(provider: object, key: object) -> tuple[str, str]:
    """``(provider, key)`` when both are usable, else an ``InvalidRequest`` that never quotes the key."""
    if not isinstance(provider, str) or provider not in KEY_VARIABLES:
        raise InvalidRequest(f"provider: expected one of {', '.join(KEY_VARIABLES)}")
    if not isinstance(key, str) or not key:
        raise InvalidRequest("key: expected a non-empty string")
    if not MIN_KEY_CHARS <= len(key) <= MAX_KEY_CHARS:
        raise InvalidRequest(f"key: expected {MIN_KEY_CHARS} to {MAX_KEY_CHARS} characters, got {len(key)}")
    if not _KEY_SHAPE.fullmatch(key):
        raise InvalidRequest("key: expected letters, digits and - _ . ~ + / = : only, with no spaces (was more pasted than the key?)")
    return provider, key


class CloudKeys:
    """The keys of this server's cloud chain, and adding one while it runs."""

    def __init__(self, settings: Settings, client: aiohttp.ClientSession, router: Router) -> None:
        self._settings = settings
        self._client = client
        self._router = router
        self._sources: dict[str, KeySource] = {p: "settings" for p, has in settings.cloud_keys().items() if has}
        # One key at a time: two saves must not interleave their read-modify-write of the file.
        self._adding = asyncio.Lock()

    @property
    def keys_file(self) -> Path | None:
        return Path(self._settings.keys_file) if self._settings.keys_file else None

    def status(self) -> dict[str, Any]:
        """Which providers have a key and where it came from; never a key or any part of one."""
        return {
            "providers": [
                {"name": provider, "variable": variable, "configured": provider in self._sources,
                 "source": self._sources.get(provider)}
                for provider, variable in KEY_VARIABLES.items()
            ],
            "escalation": [p.name for p in self._router.escalation_chain()],
            "keys_file": str(self.keys_file) if self.keys_file else None,
        }

    async def add(self, provider: str, key: str, *, save: bool) -> None:
        """Use ``key`` for ``provider`` from the next turn on (replacing the key it had), saved
        to the keys file first when ``save``: a save that fails changes nothing."""
        remember_secret(key)  # first: nothing said from here on can show it
        async with self._adding:
            if save:
                await self._save(provider, key)
            self._settings = self._settings.with_cloud_key(provider, key)
            self._router.use_cloud(build_cloud_chain(self._settings, self._client))
            self._sources[provider] = "file" if save else "memory"
        log.info("cloud key for %s added while running (%s)", provider,
                 f"saved to {self.keys_file}" if save else "kept in memory until Trooper stops")

    async def _save(self, provider: str, key: str) -> None:
        target = self.keys_file
        if target is None:
            raise InvalidRequest("save: this Trooper saves no keys (TROOPER_KEYS_FILE is empty); add it without saving")
        try:
            await asyncio.to_thread(save_key, target, KEY_VARIABLES[provider], key)
        except OSError as exc:
            raise TrooperError(500, f"the key was not added: it could not be saved to {target} ({exc.strerror or type(exc).__name__})",
                               "api_error") from None
