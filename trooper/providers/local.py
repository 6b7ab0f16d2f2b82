"""Which local model answers: chosen at start-up and re-checked while the server runs.

Order: Ollama at ``FALLBACK_URL`` when it answers and has ``OLLAMA_MODEL`` pulled, else the
OpenAI-compatible server at ``LOCAL_OPENAI_URL`` when set and answering, else the embedded GGUF
model when installed, else none (with a message saying how to get one). A background re-check
switches to a better tier when it appears (Ollama started after Trooper) and away from one that
went down.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from trooper.config import ConfigError, Settings
from trooper.errors import UpstreamError
from trooper.periodic_task import PeriodicTask
from trooper.providers.base import Provider
from trooper.providers.embedded import EmbeddedProvider
from trooper.providers.ollama import OllamaProvider
from trooper.providers.openai_compat import OpenAICompatProvider
from trooper.providers.upstream_client import FAILED_EXCHANGE

log = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
ESCALATE_PREFIX = "ollama:"
HOW_TO_GET_ONE = (
    "Install Ollama (https://ollama.com) and run `ollama pull llama3.1:8b`, "
    'or install the embedded model with `pip install -e ".[local]"`.'
)

#: What the embedded model is, said by the start-up banner and /health (the chat page has its own notice).
DEMO_MODEL_NOTE = (
    "a 135M-parameter demo model that shows how Trooper works and gets facts wrong; for real answers "
    "start Ollama (ollama pull llama3.1:8b) or set CLAUDE_API_KEY"
)


class LocalTier:
    """The live local provider, re-selected periodically by a background task."""

    def __init__(self, settings: Settings, client: aiohttp.ClientSession) -> None:
        self._settings = settings
        self._client = client
        self._recheck = PeriodicTask("trooper-local-tier", settings.local_recheck_seconds, self.select)
        self._ollama = OllamaProvider(
            url=settings.fallback_url,
            model=settings.ollama_model,
            keep_alive=settings.ollama_keep_alive,
            client=client,
            default_context=settings.context_window,
        )
        self._local_openai: OpenAICompatProvider | None = None
        self._embedded = EmbeddedProvider.from_settings(settings)
        self._current: Provider | None = None
        #: Why each tier above the live one was passed over, for describe() and the logs.
        self._passed_over: dict[str, str] = {}

    @property
    def current(self) -> Provider | None:
        return self._current

    async def select(self) -> Provider | None:
        """Probe the tiers in order and make the first that works the live one."""
        passed_over: dict[str, str] = {}
        chosen: Provider | None = None
        try:
            await self._ollama.refresh()
            chosen = self._ollama
        except UpstreamError as exc:
            passed_over["ollama"] = exc.message
        if chosen is None and self._settings.local_openai_url:
            try:
                chosen = await self._local_openai_provider()
            except UpstreamError as exc:
                passed_over["local-openai"] = exc.message
        if chosen is None and self._embedded is not None:
            if await self._embedded.available():
                await self._embedded.refresh()
                chosen = self._embedded
            else:
                passed_over["embedded"] = f"model file {self._embedded.model_path} or llama-cpp-python missing"
        if chosen is not self._current:
            log.info("local tier: %s", _label(chosen) if chosen else self.no_local_model_message(passed_over))
        self._current, self._passed_over = chosen, passed_over
        return chosen

    def describe(self) -> dict[str, Any]:
        """The live tier for /health and the start-up banner."""
        if self._current is None:
            return {"tier": None, "model": None, "context_window": None,
                    "message": self.no_local_model_message(self._passed_over), "passed_over": dict(self._passed_over)}
        described: dict[str, Any] = {
            "tier": self._current.name,
            "model": self._current.model,
            "context_window": self._current.capabilities().context_window,
            "supports_tools": self._current.capabilities().supports_tools,
            "passed_over": dict(self._passed_over),
        }
        if self._current.name == "embedded":
            described["note"] = DEMO_MODEL_NOTE  # the zero-setup default, said plainly
        return described

    def no_local_model_message(self, passed_over: dict[str, str]) -> str:
        reasons = "; ".join(f"{tier}: {why}" for tier, why in passed_over.items())
        if not self._settings.local_openai_url:
            reasons += ("; " if reasons else "") + "local-openai: LOCAL_OPENAI_URL is not set"
        if self._embedded is None:
            reasons += "; embedded: " + (
                "disabled by TROOPER_EMBEDDED=false" if not self._settings.embedded_enabled else "no model file installed"
            )
        return f"No local model ({reasons}). {HOW_TO_GET_ONE}"

    # ------------------------------------------------------------ background re-check

    def start(self) -> None:
        self._recheck.start()

    async def stop(self) -> None:
        await self._recheck.stop()
        await self._ollama.aclose()
        if self._embedded is not None:
            await self._embedded.aclose()

    async def _local_openai_provider(self) -> OpenAICompatProvider:
        """The provider for ``LOCAL_OPENAI_URL`` once the server answers ``GET /models``; its model
        is ``LOCAL_OPENAI_MODEL`` or, when unset, the first model the server lists."""
        models = await list_openai_models(self._client, self._settings.local_openai_url)
        if self._local_openai is None:
            self._local_openai = OpenAICompatProvider(
                name="local-openai", tier="local", url=self._settings.local_openai_url, api_key="",
                model=self._settings.local_openai_model or (models[0] if models else "default"),
                client=self._client, context_window=self._settings.context_window, logprobs=True,
            )
        return self._local_openai


async def list_openai_models(client: aiohttp.ClientSession, chat_url: str) -> list[str]:
    """The model ids an OpenAI-compatible server lists; a server without ``/models`` (404) still
    counts as answering and lists none."""
    models_url = chat_url.rstrip("/").removesuffix("/chat/completions") + "/models"
    try:
        async with client.get(models_url, timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT)) as response:
            status, content = response.status, await response.read()
    except FAILED_EXCHANGE as exc:
        raise UpstreamError("local-openai", "connect", f"not answering at {chat_url} ({exc.__class__.__name__})") from None
    if status >= 500:
        raise UpstreamError("local-openai", "http", f"{models_url} answered {status}", status=status)
    try:
        listed = json.loads(content).get("data") if status < 400 else []
    except (ValueError, AttributeError):
        listed = []
    return [str(m["id"]) for m in listed or [] if isinstance(m, dict) and "id" in m]


def escalation_target(settings: Settings, client: aiohttp.ClientSession) -> OllamaProvider | None:
    """``TROOPER_ESCALATE_MODEL=ollama:<model>`` escalates to a bigger Ollama model instead of the
    cloud; empty means the cloud chain (``None``)."""
    spec = settings.escalate_model
    if not spec:
        return None
    if not spec.startswith(ESCALATE_PREFIX) or not spec[len(ESCALATE_PREFIX):].strip():
        raise ConfigError(f"TROOPER_ESCALATE_MODEL must be empty or 'ollama:<model>', got {spec!r}")
    return OllamaProvider(
        url=settings.fallback_url,
        model=spec[len(ESCALATE_PREFIX):].strip(),
        keep_alive=settings.ollama_keep_alive,
        client=client,
        default_context=settings.context_window,
        name="ollama-escalation",
    )


def _label(provider: Provider) -> str:
    return f"{provider.name} ({provider.model}, context {provider.capabilities().context_window})"
