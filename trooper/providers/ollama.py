"""Ollama over its native ``/api/chat``: explicit ``num_ctx``, ``keep_alive``, NDJSON streaming.

What the configured model can do (context length, tools, vision) is discovered from Ollama itself
and cached; a request waits for discovery only when nothing is known yet, and an answer older than
``discovery_ttl`` seconds is refreshed in the background. A model that is not pulled is a clear
``unavailable`` error naming the ``ollama pull`` command, never an empty answer; Ollama not running
is ``connect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from trooper.conversation import EventStream, Request, Response
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions, Capabilities, Provider
from trooper.providers.http import HttpUpstream
from trooper.providers.ollama_catalog import (
    ModelInfo,
    base_url,
    canonical_name,
    installed_models,
    model_info,
    pull_hint,
)
from trooper.wire import ollama as wire

DISCOVERY_TTL = 60.0


class OllamaProvider(Provider):
    tier = "local"

    def __init__(
        self,
        *,
        url: str,
        model: str,
        keep_alive: str,
        client: aiohttp.ClientSession,
        default_context: int,
        name: str = "ollama",
        discovery_ttl: float = DISCOVERY_TTL,
    ) -> None:
        self.name = name
        self.url = url
        self.base_url = base_url(url)
        self.chat_url = self.base_url + "/api/chat"
        self.model = model
        self.keep_alive = keep_alive
        self._client = client
        self._http = HttpUpstream(name, client, wire.decode_error)
        self._default_context = default_context
        self._discovery_ttl = discovery_ttl
        self._info: ModelInfo | None = None
        self._discovered_at = float("-inf")
        self._revalidation: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ discovery

    def capabilities(self) -> Capabilities:
        """The last discovered capabilities; before discovery, the configured context and no
        promise of tools or images."""
        info = self._info
        if info is None:
            return Capabilities(context_window=self._default_context, supports_tools=False, supports_images=False, logprobs=True)
        return Capabilities(
            context_window=info.context_length or self._default_context,
            supports_tools=info.supports_tools,
            supports_images=info.supports_images,
            forces_tool_choice=False,
            logprobs=True,  # from Ollama 0.12.11 on; an older one answers without them
        )

    async def refresh(self) -> Capabilities:
        """Ask Ollama which models are pulled and what the configured one can do."""
        installed = await installed_models(self._client, self.base_url, self.name)
        if canonical_name(self.model) not in {canonical_name(m) for m in installed}:
            self._info = None
            listing = ", ".join(installed) or "none"
            raise UpstreamError(self.name, "unavailable", f"{pull_hint(self.model)} (installed: {listing})", status=404,
                                error_type="not_found_error")
        self._info = await model_info(self._client, self.base_url, self.model, self.name)
        self._discovered_at = time.monotonic()
        return self.capabilities()

    async def available(self) -> bool:
        try:
            await self._ensure_discovered()
        except UpstreamError:
            return False
        return True

    async def aclose(self) -> None:
        if self._revalidation is not None:
            self._revalidation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._revalidation

    async def _ensure_discovered(self) -> None:
        """Discovery on the request path only when nothing is known (first use, or the model went
        away), so "not pulled" is reported at once; otherwise two Ollama round trips per TTL would
        be added to a user's request. The local tier's re-check usually refreshes first."""
        if self._info is None:
            await self.refresh()
        elif time.monotonic() - self._discovered_at > self._discovery_ttl and self._revalidation is None:
            self._revalidation = asyncio.create_task(self._revalidate(), name=f"trooper-{self.name}-discovery")

    async def _revalidate(self) -> None:
        try:
            await self.refresh()
        except UpstreamError:
            pass  # refresh() forgot a model that is no longer pulled: the next request reports it
        finally:
            self._revalidation = None

    # ------------------------------------------------------------ chat

    def _body(self, request: Request, options: CallOptions, *, stream: bool) -> dict[str, Any]:
        body = wire.encode_request(request, self.model, stream=stream, num_ctx=options.num_ctx)
        body["keep_alive"] = self.keep_alive
        return body

    async def complete(self, request: Request, options: CallOptions) -> Response:
        await self._ensure_discovered()
        try:
            body = await self._http.post_json(self.chat_url, {}, self._body(request, options, stream=False), options)
        except UpstreamError as exc:
            raise self._explained(exc) from None
        return self._http.decode_response(wire.decode_response, body)

    async def stream(self, request: Request, options: CallOptions) -> EventStream:
        await self._ensure_discovered()
        events = self._http.post_stream(self.chat_url, {}, self._body(request, options, stream=True), options, wire.StreamDecoder())
        try:
            async for event in events:
                yield event
        except UpstreamError as exc:
            raise self._explained(exc) from None
        finally:
            await events.aclose()

    def _explained(self, error: UpstreamError) -> UpstreamError:
        """Ollama's own words made actionable: a 404 means the model is no longer pulled, and a
        refused connection means Ollama is not running."""
        if error.kind == "http" and error.status == 404:
            self._info = None  # the pulled models changed since discovery
            return UpstreamError(self.name, "unavailable", pull_hint(self.model), status=404,
                                 error_type="not_found_error", body=error.body)
        if error.kind == "connect":
            return UpstreamError(self.name, "connect", f"Ollama is not running at {self.base_url} ({error.message}); "
                                 "start it with `ollama serve`", error_type=error.error_type)
        return error
