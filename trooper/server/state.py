"""Everything the handlers share, built once per server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trooper.config import Settings
from trooper.redaction import remember_secret
from trooper.server.guesses import GuessThrottle
from trooper.server.live import LiveFeed

if TYPE_CHECKING:
    from trooper.store.base import Store


@dataclass
class AppState:
    settings: Settings
    store: Store
    feed: LiveFeed = field(default_factory=LiveFeed)
    guess_throttle: GuessThrottle = field(default_factory=GuessThrottle)
    #: Set by the server at start-up: the router, the session service, the local-tier selector,
    #: the cloud keys.
    services: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        settings = self.settings
        for secret in (settings.claude_api_key, settings.openai_api_key, settings.gemini_api_key, settings.token):
            remember_secret(secret)
