"""``GET /health`` (and ``HEAD``): whether Trooper is up, its local tier, its clouds and breakers.

The one route served without the access token (``auth.py``): uptime checks and the notebook's
server discovery ask it.
"""

from __future__ import annotations

from trooper import __version__
from trooper.routing.privacy import privacy_summary
from trooper.server.base import BaseHandler


class HealthHandler(BaseHandler):
    def get(self) -> None:
        router = self.services.router
        local_tier = self.services.local_tier
        self.write_json(
            {
                "service": "trooper",
                "status": "ok",
                "version": __version__,
                "local": local_tier.describe(),
                "cloud": [p.name for p in router.cloud],
                "escalation": [p.name for p in router.escalation_chain()],
                "breakers": {name: state for name, state in router.breakers.states().items()},
                "privacy": privacy_summary(self.state.settings),
            }
        )

    head = get  # uptime checks ask with HEAD


ROUTES = [(r"/health", HealthHandler)]
