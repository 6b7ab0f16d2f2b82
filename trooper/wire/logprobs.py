"""Token log probabilities: what a client asks for, and what the upstreams that give them send.

OpenAI's Chat Completions (``logprobs``, ``top_logprobs``) and Responses API (``include`` with
``message.output_text.logprobs``, ``top_logprobs``) ask for them; OpenAI, an OpenAI-compatible
server and Ollama give them, each token as ``{"token", "logprob", "bytes", "top_logprobs"}``
(Chat Completions under ``content``). Claude and Gemini give none: the router says so
(``X-Trooper-Decision``). An entry is kept in the shape both OpenAI APIs answer with, ``bytes``
filled in where an upstream left it out.
"""

from __future__ import annotations

from typing import Any

from trooper.errors import InvalidRequest
from trooper.wire import fields as f

#: The most alternatives a token may list (OpenAI's limit).
MAX_TOP = 20
#: The ``include`` value that asks the Responses API for them.
RESPONSES_INCLUDE = "message.output_text.logprobs"


def _top(body: dict[str, Any]) -> int | None:
    top: int | None = f.field(body, "top_logprobs", int)
    if top is not None and not 0 <= top <= MAX_TOP:
        raise InvalidRequest(f"top_logprobs: must be between 0 and {MAX_TOP}, got {top}")
    return top


def asked_in_chat(body: dict[str, Any]) -> int | None:
    """Chat Completions' ask: how many alternatives a token, or None when not asked."""
    top = _top(body)
    if not f.field(body, "logprobs", bool):
        if top:
            raise InvalidRequest("top_logprobs: needs logprobs: true")
        return None
    return top or 0


def asked_in_responses(body: dict[str, Any], include: list[str]) -> int | None:
    """The Responses API's ask (its ``include``, already read): how many alternatives a token."""
    top = _top(body)
    return (top or 0) if RESPONSES_INCLUDE in include else None


def ask(alternatives: int) -> dict[str, Any]:
    """The ask, as Chat Completions and Ollama take it, for tokens with ``alternatives`` each."""
    return {"logprobs": True, "top_logprobs": alternatives} if alternatives else {"logprobs": True}


def entries(value: Any) -> list[dict[str, Any]] | None:
    """The token entries of an upstream's ``logprobs`` (a list, or Chat Completions' object holding
    one under ``content``); None when it holds none."""
    if isinstance(value, dict):
        value = value.get("content")
    if not isinstance(value, list):
        return None
    kept = [_entry(item) for item in value if _valid(item)]
    return kept or None


def _valid(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("token"), str) and isinstance(item.get("logprob"), (int, float))


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    top = item.get("top_logprobs")
    alternatives = [_alternative(alt) for alt in top if _valid(alt)] if isinstance(top, list) else []
    return {**_alternative(item), "top_logprobs": alternatives}


def _alternative(item: dict[str, Any]) -> dict[str, Any]:
    raw = item.get("bytes")
    token: str = item["token"]
    return {"token": token, "logprob": item["logprob"], "bytes": raw if isinstance(raw, list) else list(token.encode("utf-8"))}
