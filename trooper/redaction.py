"""Keys never leave Trooper in anything a client, a page, the log or the store can see.

Two nets, both applied by ``redact``:

- the **values** Trooper knows are secret (its configured provider keys, its access token, and the
  keys clients send), literal and percent-encoded, wherever they occur;
- the **shapes** of provider keys (Anthropic, OpenAI, Google, AWS access keys, GitHub, GitLab,
  Slack and Stripe tokens), wherever they occur: glued to a word (``key_sk-ant-…``) and inside
  percent-encoded text (``sk%2Dant%2D…``) too.

Upstreams quote keys in their error messages, and a client may paste one into a request that
fails; ``UpstreamError``, ``TrooperError`` and stream error events are redacted when they are made.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, unquote

from trooper.privacy.shapes import AWS_ACCESS_KEY, prefixed_key_pattern

MASK = "***"
#: Shorter secrets are not remembered: they would mask ordinary words.
MIN_SECRET_CHARS = 12

# Key shapes, shared with the privacy detectors; group 1 is the prefix, kept visible when masked.
_KEY_SHAPES = re.compile(prefixed_key_pattern() + "|" + AWS_ACCESS_KEY)
# Runs of text holding percent escapes: decoded to look for a key inside.
_PERCENT_RUN = re.compile(r"[A-Za-z0-9_\-.~+]*(?:%[0-9A-Fa-f]{2}[A-Za-z0-9_\-.~+]*)+")

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_pattern: re.Pattern[str] | None = None
#: Secrets were remembered since ``_pattern`` was compiled: the next ``redact`` compiles it again
#: (each client's key is remembered on its first request; compiling then cost O(keys) a new client).
_stale = False


def remember_secret(value: str | None) -> None:
    """Mask ``value`` (and its percent-encoded forms) in everything ``redact`` sees from now on."""
    global _secrets, _stale
    if not value or len(value) < MIN_SECRET_CHARS or value in _secrets:
        return
    with _lock:
        _secrets = _secrets | {value}
        _stale = True


def _secret_pattern() -> re.Pattern[str] | None:
    """The pattern of every remembered secret's forms, compiled again when one was added since."""
    global _pattern, _stale
    if _stale:
        with _lock:
            if _stale:
                forms = {form for secret in _secrets for form in (secret, quote(secret, safe=""), _escaped(secret))}
                _pattern = re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))
                _stale = False
    return _pattern


def _escaped(value: str) -> str:
    """Every byte as a percent escape (some clients encode everything)."""
    return "".join(f"%{byte:02X}" for byte in value.encode())


def _decoded_run(match: re.Match[str]) -> str:
    run = match.group(0)
    decoded = unquote(run)
    pattern = _secret_pattern()
    if decoded != run and (_KEY_SHAPES.search(decoded) or (pattern is not None and pattern.search(decoded))):
        return MASK
    return run


def redact(text: str) -> str:
    """``text`` with every known secret and every key-shaped string masked."""
    if not text:
        return text
    pattern = _secret_pattern()
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if "%" in text:
        text = _PERCENT_RUN.sub(_decoded_run, text)
    return _KEY_SHAPES.sub(lambda m: m.group(1) + MASK if m.group(1) else MASK, text)
