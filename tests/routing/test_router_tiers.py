"""Which tier a provider name belongs to: the live providers say it, the store's names fall back."""

from __future__ import annotations

from trooper.config import Settings
from trooper.providers.local import escalation_target
from trooper.providers.upstream_client import open_upstream_client
from trooper.routing.router import Router


async def test_tiers_of_live_and_remembered_providers():
    settings = Settings(escalate_model="ollama:qwen2.5:32b")
    client = open_upstream_client(connect_timeout=1, total_timeout=1)
    try:
        router = Router(settings, cloud=[], local=lambda: None, escalation=escalation_target(settings, client))
        assert router.tier_of("ollama-escalation") == "local", "escalating to a local model never leaves the machine"
        assert router.tier_of("embedded") == "local" and router.tier_of("local-openai") == "local"
        assert router.tier_of("claude") == "cloud" and router.tier_of("gemini") == "cloud"
    finally:
        await client.close()
