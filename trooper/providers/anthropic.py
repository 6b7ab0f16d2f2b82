"""Claude through the Anthropic Messages API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from trooper.conversation import Request
from trooper.errors import UpstreamError
from trooper.providers.base import CallOptions, Capabilities
from trooper.providers.http import CodecProvider, HttpUpstream
from trooper.wire import anthropic as wire_codec
from trooper.wire import anthropic_options

#: The client's headers Claude gets as sent: the API version, betas, and on whose behalf and in
#: which workspace the request runs (the SDK's ``user_profile_id`` and ``workspace_id``).
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta", "anthropic-user-profile-id", "anthropic-workspace-id")


class AnthropicProvider(CodecProvider):
    """``upstream_model``: a requested ``claude-*`` model is sent as asked; any other name (an
    OpenAI or local model) is replaced by the configured ``model``."""

    tier = "cloud"
    codec = wire_codec

    def __init__(
        self,
        *,
        name: str = "claude",
        url: str,
        api_key: str,
        model: str,
        client: aiohttp.ClientSession,
        context_window: int = 200_000,
        automatic_cache: bool = True,
    ) -> None:
        self.name = name
        self.encode_options = {"automatic_cache": automatic_cache}
        self.url = url
        self.model = model
        self._api_key = api_key
        self._capabilities = Capabilities(context_window=context_window, builtin_tools_host="anthropic", reads_documents=True)
        self._http = HttpUpstream(name, client, wire_codec.decode_error)

    def __repr__(self) -> str:
        return f"AnthropicProvider(name={self.name!r}, url={self.url!r}, model={self.model!r})"

    def capabilities(self) -> Capabilities:
        return self._capabilities

    def upstream_model(self, requested: str) -> str:
        return requested if requested.startswith("claude-") else self.model

    async def available(self) -> bool:
        return bool(self._api_key)

    async def count_tokens(self, request: Request, options: CallOptions) -> int:
        """Claude's own count of the request's input tokens (``POST /v1/messages/count_tokens``)."""
        body = self._encode(request, stream=False)
        uncounted = [name for name in request.anthropic_options if name not in anthropic_options.COUNTED]
        for name in ("max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata", *uncounted):
            body.pop(name, None)  # count_tokens takes the prompt only
        raw = await self._http.post_json(self.url + "/count_tokens", self._headers(options, body), body, options)
        tokens = raw.get("input_tokens")
        if not isinstance(tokens, int):
            raise UpstreamError(self.name, "stream", f"count_tokens answered without input_tokens: {str(raw)[:120]}")
        return tokens

    def _headers(self, options: CallOptions, body: Mapping[str, Any]) -> dict[str, str]:
        """The client's Anthropic headers, with the betas ``body`` needs that the client did not
        name (a Responses client's compaction, mapped to Claude's, names none)."""
        key = options.api_key or self._api_key
        if not key:
            raise UpstreamError(self.name, "unavailable", "no Anthropic API key configured (CLAUDE_API_KEY)")
        forwarded = {k.lower(): v for k, v in options.forward_headers.items() if k.lower() in FORWARDED_HEADERS}
        named = [beta.strip() for beta in forwarded.get("anthropic-beta", "").split(",") if beta.strip()]
        betas = [*named, *(beta for beta in wire_codec.betas_needed(body) if beta not in named)]
        if betas:
            forwarded["anthropic-beta"] = ",".join(betas)
        return {"anthropic-version": wire_codec.ANTHROPIC_VERSION, **forwarded, "x-api-key": key, "content-type": "application/json"}
