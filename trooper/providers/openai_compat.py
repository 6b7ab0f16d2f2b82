"""Any OpenAI Chat Completions upstream: OpenAI, Gemini's OpenAI-compatible endpoint, and local
OpenAI-compatible servers (llama-server, LM Studio, vLLM)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from trooper.conversation import EventStream, Request, Response
from trooper.providers.base import CallOptions, Capabilities, Tier
from trooper.providers.http import CodecProvider, HttpUpstream
from trooper.wire import extra_fields, openai_responses
from trooper.wire import openai as wire_codec

#: Model names that belong to OpenAI and to Gemini, for ``model_prefixes``. ``codex-``: Codex's
#: ``codex-mini-latest``; ``computer-use-``: the computer-use agent's model.
OPENAI_MODEL_PREFIXES = ("gpt-", "chatgpt-", "o1", "o3", "o4", "codex-", "computer-use-")
GEMINI_MODEL_PREFIXES = ("gemini-",)


#: The client's headers OpenAI gets when the call goes with the client's own key: the organization
#: and project that key bills (the SDK sends them from OPENAI_ORG_ID / OPENAI_PROJECT_ID, for any
#: key, so they are not sent with Trooper's own key, which they may not belong to).
ACCOUNT_HEADERS = ("openai-organization", "openai-project")


class OpenAICompatProvider(CodecProvider):
    """``upstream_model``: a requested model starting with one of ``model_prefixes`` (e.g.
    ``OPENAI_MODEL_PREFIXES``) is sent as asked; anything else, and everything when no prefixes are
    given (a local server), is replaced by the configured ``model``. The key is sent as a Bearer
    token, and no Authorization header is sent when there is no key. ``tool_call_signatures``
    (Gemini) sends tool calls' thought signatures back upstream; ``openai_settings`` (OpenAI) passes
    on what only OpenAI knows of the request (its cache key, reasoning effort, seed…), which other
    servers may refuse. ``logprobs``: the server gives token log probabilities (OpenAI, a local
    OpenAI-compatible server), so a client's ask for them is sent. A provider of the local tier is
    a local server, which takes ``top_k`` (OpenAI refuses it).

    ``responses_url`` (OpenAI's own, set by ``build_cloud_chain`` only): OpenAI's Responses API,
    which answers the turns offering OpenAI's built-in tools (``Request.hosted_tools``), with
    those tools, and the turns of a client keeping OpenAI's reasoning itself
    (``Request.keeps_openai_reasoning``) asked of a reasoning model, whose reasoning items only
    it reads back, the turns carrying fields of a Responses body Trooper does not read
    (``wire/extra_fields.py``), and every turn of a model only it serves (the Codex models, the
    -pro models…); every other turn goes by Chat Completions. A provider without it (Gemini, a
    local OpenAI-compatible server) does not claim ``builtin_tools_host``."""

    codec = wire_codec

    def __init__(
        self,
        *,
        name: str,
        tier: Tier,
        url: str,
        api_key: str,
        model: str,
        client: aiohttp.ClientSession,
        context_window: int,
        supports_tools: bool = True,
        model_prefixes: tuple[str, ...] = (),
        tool_call_signatures: bool = False,
        openai_settings: bool = False,
        logprobs: bool = False,
        responses_url: str | None = None,
    ) -> None:
        self.name = name
        self.tier = tier
        self.url = url
        self.model = model
        self._api_key = api_key
        # Chat Completions has no assistant prefill: a trailing assistant message is taken as a
        # finished turn, so a rescue must restart with an instruction instead of continuing.
        self._capabilities = Capabilities(
            context_window=context_window, supports_tools=supports_tools, supports_prefill=False,
            builtin_tools_host="openai" if responses_url is not None else None,
            reads_documents=responses_url is not None,  # OpenAI's own API takes PDFs as file parts
            logprobs=logprobs,
        )
        self.responses_url = responses_url
        self._model_prefixes = model_prefixes
        self.encode_options = {
            "tool_call_signatures": tool_call_signatures, "openai_settings": openai_settings, "logprobs": logprobs,
            "local_server": tier == "local",
        }
        self._http = HttpUpstream(name, client, wire_codec.decode_error)

    def __repr__(self) -> str:
        return f"OpenAICompatProvider(name={self.name!r}, url={self.url!r}, model={self.model!r})"

    def capabilities(self) -> Capabilities:
        return self._capabilities

    def upstream_model(self, requested: str) -> str:
        return requested if requested.startswith(self._model_prefixes) else self.model

    async def available(self) -> bool:
        return bool(self.url and self.model) and (self.tier == "local" or bool(self._api_key))

    def _headers(self, options: CallOptions, body: Mapping[str, Any]) -> dict[str, str]:
        headers = {"content-type": "application/json"}
        key = options.api_key or self._api_key
        if key:
            headers["authorization"] = f"Bearer {key}"
        if options.api_key and self.encode_options["openai_settings"]:  # OpenAI itself, with the client's key
            headers.update({k.lower(): v for k, v in options.forward_headers.items() if k.lower() in ACCOUNT_HEADERS})
        return headers

    def uses_responses_api(self, request: Request) -> bool:
        if self.responses_url is None:
            return False
        model = self.upstream_model(request.model)
        if wire_codec.responses_api_only(model):
            return True
        # Compaction, and the fields of a Responses body Trooper does not read: this API's.
        if "context_management" in request.openai_options or (extra_fields.named_in(request, "responses") and extra_fields.meant_for(request, model)):
            return True
        reasons = wire_codec.is_reasoning_model(model)
        return (bool(request.hosted_tools) and request.tools_host == "openai") or (reasons and request.keeps_openai_reasoning())

    def _responses_url_for(self, request: Request) -> str | None:
        return self.responses_url if self.uses_responses_api(request) else None

    async def complete(self, request: Request, options: CallOptions) -> Response:
        url = self._responses_url_for(request)
        if url is None:
            return await super().complete(request, options)
        body = openai_responses.encode_request(request, self.upstream_model(request.model), stream=False)
        raw = await self._http.post_json(url, self._headers(options, body), body, options)
        return self._http.decode_response(openai_responses.decode_response, raw)

    async def stream(self, request: Request, options: CallOptions) -> EventStream:
        url = self._responses_url_for(request)
        if url is None:
            events = super().stream(request, options)
        else:
            body = openai_responses.encode_request(request, self.upstream_model(request.model), stream=True)
            events = self._http.post_stream(url, self._headers(options, body), body, options, openai_responses.StreamDecoder())
        async for event in events:
            yield event


def responses_url_of(chat_completions_url: str) -> str | None:
    """OpenAI's Responses API beside its Chat Completions URL (``…/v1/chat/completions`` →
    ``…/v1/responses``); None for a URL of another shape."""
    base, found, rest = chat_completions_url.rstrip("/").rpartition("/chat/completions")
    return base + "/responses" if found and not rest else None
