"""What an Ollama server has installed and what each model can do.

``GET /api/tags`` lists the pulled models; ``POST /api/show`` describes one: its trained context
length (``model_info["<arch>.context_length"]``) and its ``capabilities`` (``tools``, ``vision``).
Used by the Ollama provider (cached) and by ``trooper doctor`` (once).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp

from trooper.errors import UpstreamError
from trooper.providers.upstream_client import TRANSPORT_ERRORS

TOOLS_TEMPLATE_MARK = ".Tools"


@dataclass(frozen=True)
class ModelInfo:
    name: str
    context_length: int | None
    supports_tools: bool
    supports_images: bool


def base_url(chat_url: str) -> str:
    """``http://host:11434/api/chat`` -> ``http://host:11434`` (a bare base URL is kept)."""
    url = chat_url.rstrip("/")
    for suffix in ("/api/chat", "/api/generate", "/api"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


def canonical_name(model: str) -> str:
    """Ollama's own spelling: a model without a tag means ``:latest``."""
    return model if ":" in model else f"{model}:latest"


def pull_hint(model: str) -> str:
    return f"Ollama model {model!r} is not pulled; run `ollama pull {model}`"


async def installed_models(client: aiohttp.ClientSession, base: str, provider: str = "ollama", timeout: float = 5.0) -> list[str]:
    body = await _request(client, "GET", f"{base}/api/tags", provider, timeout)
    models = body.get("models") if isinstance(body, dict) else None
    if not isinstance(models, list):
        raise UpstreamError(provider, "http", f"unexpected /api/tags answer from {base}", status=502)
    return [str(m.get("name") or m.get("model")) for m in models if isinstance(m, dict)]


async def model_info(client: aiohttp.ClientSession, base: str, model: str, provider: str = "ollama", timeout: float = 5.0) -> ModelInfo:
    body = await _request(client, "POST", f"{base}/api/show", provider, timeout, json={"model": model})
    if not isinstance(body, dict):
        raise UpstreamError(provider, "http", f"unexpected /api/show answer from {base}", status=502)
    return ModelInfo(
        name=model,
        context_length=_context_length(body.get("model_info")),
        supports_tools=_supports_tools(body),
        supports_images="vision" in (body.get("capabilities") or []),
    )


def _context_length(info: Any) -> int | None:
    if not isinstance(info, dict):
        return None
    for key, value in info.items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def _supports_tools(show: dict[str, Any]) -> bool:
    capabilities = show.get("capabilities")
    if isinstance(capabilities, list):
        return "tools" in capabilities
    # Ollama before 0.6 has no capabilities list; it decides tool support from the template.
    return TOOLS_TEMPLATE_MARK in str(show.get("template") or "")


async def _request(client: aiohttp.ClientSession, method: str, url: str, provider: str, timeout: float, **kw: Any) -> Any:
    try:
        async with client.request(method, url, timeout=aiohttp.ClientTimeout(total=timeout), **kw) as response:
            status, content = response.status, await response.read()
    except asyncio.TimeoutError as exc:
        raise UpstreamError(provider, "timeout", f"Ollama did not answer {url} within {timeout:g}s") from exc
    except TRANSPORT_ERRORS as exc:
        raise UpstreamError(
            provider, "connect", f"Ollama is not running at {url} ({exc.__class__.__name__}); start it with `ollama serve`"
        ) from exc
    if status >= 400:
        text = content.decode("utf-8", errors="replace")
        raise UpstreamError(provider, "http", f"{url} answered {status}: {text[:300]}", status=status, body=text[:2000])
    try:
        return json.loads(content)
    except ValueError as exc:
        raise UpstreamError(provider, "http", f"{url} did not answer JSON", status=502) from exc
