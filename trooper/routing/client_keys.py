"""Which provider a client-supplied API key belongs to.

SDKs insist on an API key, so callers of a local-first proxy often send a placeholder
(``"local"``, ``"sk-trooper"``) or Trooper's own access token. Forwarding those upstream would turn
a working configuration into 401s, so a client's key is used only for the provider whose key
format it has; anything else is ignored and the configured key applies. The key is used for that
request only and never stored.
"""

from __future__ import annotations

_PREFIXES = {
    "claude": ("sk-ant-",),
    "gemini": ("AIza",),
    "openai": ("sk-proj-", "sk-svcacct-", "sk-"),
}
_MIN_LENGTH = 20


def key_for_provider(provider: str, client_key: str | None) -> str | None:
    if not client_key or len(client_key) < _MIN_LENGTH:
        return None
    if provider == "openai" and client_key.startswith("sk-ant-"):
        return None
    prefixes = _PREFIXES.get(provider, ())
    return client_key if client_key.startswith(prefixes) else None
