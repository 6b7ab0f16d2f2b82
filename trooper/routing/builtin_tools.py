"""Turns offering built-in tools: OpenAI's (``web_search``, ``file_search``, ``code_interpreter``…,
which only its Responses API runs) or Claude's server tools (``web_search_20250305``,
``code_execution_…``, and the tools whose schema only Claude knows, ``bash_…``). Only their host
runs them, so only a provider reaching that host may answer (``Request.tools_host``).

Such a turn goes to that provider alone, like a turn with images goes to a tier that can see
them, whatever the classifier would say, and its decision names the tools
(``openai (built-in tools: web_search)``, ``claude (built-in tools: web_search_20250305)``). There
is no fallback: another upstream would answer without the tools, as if they had been offered and
not used, so a failure of the host reaches the client as the turn's error. A turn no such
provider may answer (none configured, the route forced local, a private conversation kept on
this machine) is refused with a 400 naming the tools and what to do.
"""

from __future__ import annotations

from typing import Sequence

from trooper.conversation import Request, ToolHost
from trooper.errors import TrooperError
from trooper.providers.base import Provider

#: How a plan's reason (and the decision header) starts for these turns.
REASON_PREFIX = "built-in tools: "
#: Who each host is to a reader, and what configures a provider that reaches it.
_HOSTS: dict[ToolHost, tuple[str, str]] = {
    "openai": (
        "OpenAI",
        "Set OPENAI_API_KEY (Trooper then sends turns offering them to OpenAI's Responses API), or leave them "
        'out of the request (Codex CLI: web_search = "disabled" in ~/.codex/config.toml).',
    ),
    "anthropic": ("Claude", "Set CLAUDE_API_KEY (Trooper then sends turns offering them to Claude), or leave them out of the request."),
}
#: Why no configured provider may run a host's tools.
_UNCONFIGURED: dict[ToolHost, str] = {
    "openai": "no OpenAI is configured to run them (its Responses API sits beside an OPENAI_URL ending in /chat/completions)",
    "anthropic": "no Claude is configured to run them",
}


def tool_names(request: Request) -> list[str]:
    """The built-in tools a request offers, by type, in order, each once."""
    return list(dict.fromkeys(str(tool.get("type")) for tool in request.hosted_tools))


def reason(request: Request) -> str:
    return REASON_PREFIX + ", ".join(tool_names(request))


def is_builtin_reason(reason: str) -> bool:
    return reason.startswith(REASON_PREFIX)


def no_fallback(host: ToolHost) -> str:
    """What the error of a failed built-in-tool turn adds: nobody else could have answered it."""
    return f"Built-in tools run only on {_HOSTS[host][0]}, so no other provider could answer this turn."


def hosts(cloud: Sequence[Provider], request: Request) -> list[Provider]:
    """The providers that run the request's built-in tools (OpenAI's when its key is set; Claude)."""
    return [p for p in cloud if p.capabilities().builtin_tools_host == request.tools_host]


def unconfigured(request: Request) -> str:
    return _UNCONFIGURED[request.tools_host]


def refusal(request: Request, why: str) -> TrooperError:
    names = ", ".join(repr(name) for name in tool_names(request))
    host, remedy = _HOSTS[request.tools_host]
    return TrooperError(
        400,
        f"tools: the built-in tools {names} run only on {host}'s servers, and {why}. {remedy}",
        "invalid_request_error",
    )
