"""The cloud chain, in Trooper's order: Claude, then Gemini, then OpenAI — those with a key."""

from __future__ import annotations

import aiohttp

from trooper.config import Settings
from trooper.providers.anthropic import AnthropicProvider
from trooper.providers.base import Provider
from trooper.providers.openai_compat import GEMINI_MODEL_PREFIXES, OPENAI_MODEL_PREFIXES, OpenAICompatProvider, responses_url_of

CLAUDE_CONTEXT = 200_000
GEMINI_CONTEXT = 1_000_000
OPENAI_CONTEXT = 128_000


def build_cloud_chain(settings: Settings, client: aiohttp.ClientSession) -> list[Provider]:
    chain: list[Provider] = []
    if settings.claude_api_key:
        chain.append(
            AnthropicProvider(
                name="claude", url=settings.claude_url, api_key=settings.claude_api_key,
                model=settings.claude_model, client=client, context_window=CLAUDE_CONTEXT,
                automatic_cache=settings.claude_auto_cache,
            )
        )
    if settings.gemini_api_key:
        chain.append(
            OpenAICompatProvider(
                name="gemini", tier="cloud", url=settings.gemini_url, api_key=settings.gemini_api_key,
                model=settings.gemini_model, client=client, context_window=GEMINI_CONTEXT,
                model_prefixes=GEMINI_MODEL_PREFIXES, tool_call_signatures=True,
            )
        )
    if settings.openai_api_key:
        chain.append(
            OpenAICompatProvider(
                name="openai", tier="cloud", url=settings.openai_url, api_key=settings.openai_api_key,
                model=settings.openai_model, client=client, context_window=OPENAI_CONTEXT,
                model_prefixes=OPENAI_MODEL_PREFIXES, openai_settings=True, logprobs=True,
                responses_url=responses_url_of(settings.openai_url),
            )
        )
    return chain
