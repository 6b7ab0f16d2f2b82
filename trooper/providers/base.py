"""The small interface every upstream adapter implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal

from trooper.conversation import EventStream, Request, Response, ToolHost

Tier = Literal["cloud", "local"]


@dataclass(frozen=True)
class Capabilities:
    context_window: int
    supports_tools: bool = True
    supports_images: bool = True
    #: Accepts a trailing assistant message to continue (used to rescue a cut stream).
    supports_prefill: bool = True
    #: Whose built-in tools it runs (``routing/builtin_tools.py``): OpenAI's (web search…,
    #: through OpenAI's Responses API: only the provider configured by ``OPENAI_API_KEY``) or
    #: Anthropic's (Claude's server tools); None for most providers.
    builtin_tools_host: ToolHost | None = None
    #: Reads documents (PDFs) a client sends: Claude, and OpenAI's own API (as file parts); any
    #: other provider gets a text document's text, or a note in place of a PDF.
    reads_documents: bool = False
    #: Honours a tool choice that forces a call (``any``, or a named tool); Ollama takes no tool
    #: choice, so a forced call reaches it as a free one.
    forces_tool_choice: bool = True
    #: Gives the answer's token log probabilities when asked (OpenAI, an OpenAI-compatible local
    #: server, Ollama); Claude, Gemini and the embedded model give none.
    logprobs: bool = False


@dataclass
class CallOptions:
    """Per-call settings decided by the front door and the router."""

    #: The caller's own key for this provider, used for this request only and never stored.
    api_key: str | None = None
    #: Client headers worth forwarding (``anthropic-version``, ``anthropic-beta``).
    forward_headers: dict[str, str] = field(default_factory=dict)
    #: Token budget of the context to send (Ollama's ``num_ctx``), set after compaction.
    num_ctx: int | None = None
    connect_timeout: float = 5.0
    first_token_timeout: float = 30.0
    idle_timeout: float = 30.0
    total_timeout: float = 30.0
    #: Send over a connection opened for this call, never a pooled one (the router's retries).
    fresh_connection: bool = False


class Provider(abc.ABC):
    """An upstream that can answer a canonical ``Request``.

    ``complete`` and ``stream`` raise ``trooper.errors.UpstreamError`` for every failure, so the
    router can classify it; they never return an empty success.
    """

    #: Short name used in headers, the store and the dashboard (``claude``, ``ollama``...).
    name: str
    tier: Tier
    #: The upstream model used when the client's model name does not belong to this provider.
    model: str

    @abc.abstractmethod
    def capabilities(self) -> Capabilities: ...

    def upstream_model(self, requested: str) -> str:
        """The model to ask this provider for: the configured one, so a Claude model name is
        never sent to OpenAI or Ollama."""
        return self.model

    def uses_responses_api(self, request: Request) -> bool:
        """Whether this provider sends ``request`` to OpenAI's Responses API, the one upstream
        that reads OpenAI's own items (built-in tool items, reasoning items) back: every other
        call gets the request without them. Here: a turn offering built-in tools, to a provider
        that runs them."""
        return self.capabilities().builtin_tools_host == "openai" == request.tools_host and bool(request.hosted_tools)

    def reads_hosted_items(self) -> ToolHost | None:
        """Whose built-in tool items this provider gets back verbatim when it is not reached by
        OpenAI's Responses API: Claude its server-tool blocks; nobody else any."""
        host = self.capabilities().builtin_tools_host
        return host if host == "anthropic" else None

    @abc.abstractmethod
    async def complete(self, request: Request, options: CallOptions) -> Response: ...

    @abc.abstractmethod
    def stream(self, request: Request, options: CallOptions) -> EventStream: ...

    async def available(self) -> bool:
        """Whether the provider can be tried now (configured, reachable when cheap to tell)."""
        return True

    async def aclose(self) -> None:  # noqa: B027 - optional: most providers share the runtime's client
        """Release what the provider holds (the embedded model's worker); called on shutdown."""
