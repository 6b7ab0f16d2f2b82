"""A running Trooper: builds every part from the settings, serves, and shuts down cleanly."""

from __future__ import annotations

import asyncio
import logging
import socket

import tornado.netutil

from trooper.config import Settings
from trooper.engine.live import LiveFeed
from trooper.engine.sessions import SessionService
from trooper.engine.turn_runner import TurnRunner
from trooper.privacy.storage import StoreMask
from trooper.providers.cloud import build_cloud_chain
from trooper.providers.local import LocalTier, escalation_target
from trooper.providers.upstream_client import open_upstream_client
from trooper.routing.admission import StreamLimiter
from trooper.routing.auto_recovery import RecoveryProber
from trooper.routing.router import Router
from trooper.routing.shared_breakers import share_breakers
from trooper.server.app import make_app
from trooper.server.cloud_keys import CloudKeys
from trooper.server.connections import GuardedHTTPServer, connection_cap, raise_open_file_limit
from trooper.server.message_threads import MessageThreads
from trooper.server.response_log import ResponseLog
from trooper.server.state import AppState, Services
from trooper.store import open_store, store_label
from trooper.store.base import Row

log = logging.getLogger("trooper")

#: In-flight streams get this long to finish on a graceful shutdown.
SHUTDOWN_GRACE_SECONDS = 10.0


class Runtime:
    """Everything one server owns. ``await Runtime.start(settings)``, then ``await runtime.stop()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # First: a store that cannot be opened (a database unreachable) stops the start before
        # anything else needs closing.
        self.store = open_store(settings)
        # Built in Runtime.start, a coroutine: the client binds to the server's event loop.
        self.client = open_upstream_client(connect_timeout=settings.connect_timeout, total_timeout=settings.provider_timeout)
        self.feed = LiveFeed()
        self.local_tier = LocalTier(settings, self.client)
        self.router = Router(
            settings,
            build_cloud_chain(settings, self.client),
            lambda: self.local_tier.current,
            escalation_target(settings, self.client),
        )
        # The router's chain is the one record of which clouds are configured (keys can be added
        # while running): everything else asks it.
        self.cloud_keys = CloudKeys(settings, self.client, self.router)
        store_mask = StoreMask.of(settings)
        self.sessions = SessionService(
            self.store, self.feed, would_answer=lambda: self.router.cloud[0].model if self.router.cloud else None,
            prices=settings.prices, mask=store_mask, answering=lambda: self.app.answering(),
        )
        admission = StreamLimiter(settings.max_streams, settings.max_session_streams, settings.queue_seconds)
        # Replicas on one PostgreSQL share their breakers; on SQLite they are this process's own.
        self.health = self.store.shared_health()
        self.prober = RecoveryProber(settings, self.router.remote_providers, self.router.breakers, self.health)
        self.state = AppState(
            settings,
            self.store,
            self.feed,
            services=Services(
                self.router, self.sessions, TurnRunner(self.router, self.sessions, admission, settings), self.local_tier,
                ResponseLog(self.store, store_mask), self.cloud_keys, MessageThreads(self.store),
            ),
        )
        self.app = make_app(self.state)
        self.server: GuardedHTTPServer | None = None
        self.port = 0

    @classmethod
    async def start(cls, settings: Settings, *, port: int | None = None) -> Runtime:
        runtime = cls(settings)
        try:  # first, so a busy port fails fast, before a model loads
            sockets = tornado.netutil.bind_sockets(settings.port if port is None else port, settings.bind, family=socket.AF_INET)
        except OSError:
            await runtime.stop()  # nothing runs yet: this closes the store and the upstream client quietly
            raise
        if runtime.health is not None:  # before serving: a provider another replica opened is skipped at once
            label = f"{socket.gethostname()}:{sockets[0].getsockname()[1]}"
            await share_breakers(runtime.router.breakers, runtime.health, runtime.router.remote_providers, label)
        await runtime.local_tier.select()
        runtime.local_tier.start()
        if settings.auto_recovery:
            runtime.prober.start()
        # Other replicas' turns on a shared store reach this one's live views (dashboard, chat).
        runtime.store.watch(runtime._changed_elsewhere, asyncio.get_running_loop())
        runtime.server = GuardedHTTPServer(runtime.app, xheaders=False, idle_connection_timeout=300, body_timeout=120)
        runtime.server.guard(connection_cap(raise_open_file_limit()))
        runtime.server.add_sockets(sockets)
        runtime.port = sockets[0].getsockname()[1]
        return runtime

    def _changed_elsewhere(self, update: Row) -> None:
        """Another replica committed a change to a session: this one's copy of it is stale."""
        self.sessions.forget(update["session_id"])
        self.feed.publish(update)

    @property
    def url(self) -> str:
        return f"http://{self.settings.bind}:{self.port}"

    def banner(self) -> str:
        local = self.local_tier.describe()
        local_line = (
            f"{local['tier']} ({local['model']}, {local['context_window']} tokens)" if local["tier"] else local["message"]
        )
        if local.get("note"):
            local_line += f"\n              {local['note']}"
        cloud = ", ".join(p.name for p in self.router.cloud) or "none (local-only: add a key on the chat page, or set CLAUDE_API_KEY)"
        lines = [
            f"Trooper listening on {self.url}",
            f"  chat page:  {self.url}/chat",
            f"  dashboard:  {self.url}/dashboard",
            f"  local tier: {local_line}",
            f"  cloud:      {cloud}",
            f"  store:      {store_label(self.settings.db_path)}",
        ]
        return "\n".join(lines)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            # Closing a connection cuts its answer: first let the turns in flight finish (bounded).
            if not await self.app.wait_answered(SHUTDOWN_GRACE_SECONDS):
                log.warning("some streams did not finish within %s s of shutdown", SHUTDOWN_GRACE_SECONDS)
            await self.server.close_all_connections()
        await self.prober.stop()
        self.sessions.flush_sitreps()
        await self.store.close()
        await self.local_tier.stop()
        await self.router.aclose()
        await self.client.close()
