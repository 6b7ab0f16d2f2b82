"""Everything the handlers share, built once per server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from trooper.config import Settings
from trooper.engine.live import LiveFeed
from trooper.redaction import remember_secret
from trooper.server.guesses import GuessThrottle

if TYPE_CHECKING:
    from trooper.engine.sessions import SessionService
    from trooper.engine.turn_runner import TurnRunner
    from trooper.providers.local import LocalTier
    from trooper.routing.router import Router
    from trooper.server.cloud_keys import CloudKeys
    from trooper.server.message_threads import MessageThreads
    from trooper.server.response_log import ResponseLog
    from trooper.store.base import Store


@dataclass
class Services:
    """What the proxy's handlers work with, built once by the runtime."""

    router: Router
    sessions: SessionService
    #: Every front door's turns: session, route, answer, record.
    runner: TurnRunner
    local_tier: LocalTier
    responses: ResponseLog
    cloud_keys: CloudKeys
    threads: MessageThreads


@dataclass
class AppState:
    settings: Settings
    store: Store
    feed: LiveFeed = field(default_factory=LiveFeed)
    guess_throttle: GuessThrottle = field(default_factory=GuessThrottle)
    #: Set by the runtime; None in an app built for the read-only APIs alone (tests of those).
    services: Services | None = None

    def __post_init__(self) -> None:
        settings = self.settings
        for secret in (settings.claude_api_key, settings.openai_api_key, settings.gemini_api_key, settings.token):
            remember_secret(secret)
