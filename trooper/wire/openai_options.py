"""Settings only OpenAI's APIs know (a seed, penalties, a service tier…), passed on as the client
sent them when OpenAI answers. Any other upstream answers without them: they mean nothing to it.

Chat Completions and the Responses API share some; each has its own too. A front door keeps those
of its API that the body holds (checked, so a bad one is the client's 400 and never an upstream
error the router would fall back on); an OpenAI encoder sends those its own API takes. A field
Trooper does not know at all is another matter: ``extra_fields.py``.
"""

from __future__ import annotations

from typing import Any

from trooper.wire import fields as f


def _count(body: dict[str, Any], name: str, path: str) -> Any:
    return f.positive_int(body, name, path)


#: Each setting, with the check of its value.
_SHARED: dict[str, f.Check] = {
    "service_tier": f.one_of("auto", "default", "flex", "scale", "priority"),
    "safety_identifier": f.of(str),
    "prompt_cache_retention": f.one_of("in_memory", "24h"),
    "prompt_cache_options": f.of(dict),  # explicit cache breakpoints' mode and lifetime (gpt-5.6 on)
    "moderation": f.of(dict),
}
_CHAT = {
    **_SHARED,
    "seed": f.of(int),
    "frequency_penalty": f.of(float),
    "presence_penalty": f.of(float),
    "logit_bias": f.of(dict),
    "prediction": f.of(dict),
    "store": f.of(bool),  # kept by OpenAI for its distillation and evals
    "web_search_options": f.of(dict),  # OpenAI's search models
}
_RESPONSES = {
    **_SHARED, "truncation": f.one_of("auto", "disabled"), "max_tool_calls": _count, "image": f.of(dict),
    # Server-side compaction ([{"type": "compaction", "compact_threshold": N}]): Claude gets its own
    # (``responses.decode_request``); OpenAI answers such a turn by this API (``uses_responses_api``).
    "context_management": f.of(list),
}  # fmt: skip

#: The names each API takes.
CHAT = frozenset(_CHAT)
RESPONSES = frozenset(_RESPONSES)
#: Those local models sample with too (llama.cpp, vLLM, Ollama's options): a seed for answers that
#: repeat, the penalties on repeating tokens.
LOCAL_SAMPLING = frozenset({"seed", "frequency_penalty", "presence_penalty"})


def from_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-only settings a Chat Completions body holds."""
    return f.settings(body, _CHAT)


def from_responses(body: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-only settings a Responses body holds."""
    return f.settings(body, _RESPONSES)


def for_api(options: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """Those of ``options`` an API taking ``names`` takes."""
    return {name: value for name, value in options.items() if name in names}
