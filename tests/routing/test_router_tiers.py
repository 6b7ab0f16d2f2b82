"""Which tier a provider name belongs to: the live providers say it, the store's names fall back."""

from __future__ import annotations

from trooper.config import Settings
from trooper.providers.local import escalation_target
from trooper.providers.upstream_client import open_upstream_client
from trooper.routing.router import Router


async def test_tiers_of_the_providers_that_answer():
    """A provider says its own tier; a stored turn keeps the tier it was answered by (schema v7),
    so no list of local provider names is needed."""
    settings = Settings(escalate_model="ollama:qwen2.5:32b")
    client = open_upstream_client(connect_timeout=1, total_timeout=1)
    try:
        router = Router(settings, cloud=[], local=lambda: None, escalation=escalation_target(settings, client))
        assert router.tier_of("ollama-escalation") == "local", "escalating to a local model never leaves the machine"
    finally:
        await client.close()
