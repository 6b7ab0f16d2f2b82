"""Turns offering OpenAI's built-in tools (``web_search``, ``file_search``, ``code_interpreter``…):
only OpenAI's Responses API runs them, so only the provider that reaches it may answer.

Such a turn goes to that provider alone, like a turn with images goes to a tier that can see
them, whatever the classifier would say, and its decision names the tools
(``openai (built-in tools: web_search)``). There is no fallback: another upstream would answer
without the tools, as if they had been offered and not used, so a failure of OpenAI reaches the
client as the turn's error. A turn no such provider may answer (none configured, the route forced
local, a private conversation kept on this machine) is refused with a 400 naming the tools and
what to do.
"""

from __future__ import annotations

from typing import Sequence

from trooper.conversation import Request
from trooper.errors import TrooperError
from trooper.providers.base import Provider

#: How a plan's reason (and the decision header) starts for these turns.
REASON_PREFIX = "built-in tools: "
#: What the error of a failed built-in-tool turn adds: nobody else could have answered it.
NO_FALLBACK = "Built-in tools run only on OpenAI, so no other provider could answer this turn."


def tool_names(request: Request) -> list[str]:
    """The built-in tools a request offers, by type, in order, each once."""
    return list(dict.fromkeys(str(tool.get("type")) for tool in request.hosted_tools))


def reason(request: Request) -> str:
    return REASON_PREFIX + ", ".join(tool_names(request))


def is_builtin_reason(reason: str) -> bool:
    return reason.startswith(REASON_PREFIX)


def hosts(cloud: Sequence[Provider]) -> list[Provider]:
    """The providers that run built-in tools (OpenAI's, when its key is set)."""
    return [p for p in cloud if p.capabilities().runs_builtin_tools]


def refusal(request: Request, why: str) -> TrooperError:
    names = ", ".join(repr(name) for name in tool_names(request))
    return TrooperError(
        400,
        f"tools: the built-in tools {names} run only on OpenAI's servers, and {why}. Set OPENAI_API_KEY "
        "(Trooper then sends turns offering them to OpenAI's Responses API), or leave them out of the request "
        '(Codex CLI: web_search = "disabled" in ~/.codex/config.toml).',
        "invalid_request_error",
    )
