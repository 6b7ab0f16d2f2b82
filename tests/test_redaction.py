"""Keys are masked wherever they occur: glued to a word, percent-encoded, known values and shapes."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from trooper.redaction import MASK, redact, remember_secret
from trooper.server.app import logged_uri

ANTHROPIC = "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe"
CONFIGURED = "my-own-proxy-secret-7f3a9c2e51d04b"


@pytest.mark.parametrize(
    "text",
    [
        f"invalid x-api-key: {ANTHROPIC}",
        f"key_{ANTHROPIC} was rejected",  # glued to a word: the old leading \b let it through
        f"token={ANTHROPIC}&x=1",
        f"the key '{ANTHROPIC}'",
        f"url-encoded: {quote(ANTHROPIC, safe='')}",
        "fully encoded: " + "".join(f"%{b:02x}" for b in ANTHROPIC.encode()),
        "openai: sk-proj-AbCdEf0123456789GhIjKlMnOpQr",
        "gemini: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv",
        "aws: AKIAIOSFODNN7EXAMPLE",
        "github: ghp_1234567890abcdefghijklmnopqrstuvwxyz",
        "stripe: sk_live_51HabcdefghijklmnopqRSTU2",
    ],
)
def test_key_shapes_are_masked_anywhere(text):
    masked = redact(text)
    assert MASK in masked
    for secret in (ANTHROPIC, "AbCdEf0123456789", "SyA1b2C3d4", "IOSFODNN7", "1234567890abcdef", "51Habcdefghij"):
        assert secret not in masked
    assert "%5A%78%39" not in masked.upper()


def test_configured_values_are_masked_literal_and_encoded():
    remember_secret(CONFIGURED)
    for text in (CONFIGURED, quote(CONFIGURED, safe=""), "".join(f"%{b:02X}" for b in CONFIGURED.encode())):
        assert redact(f"upstream said: bad key {text}!") == f"upstream said: bad key {MASK}!"


def test_ordinary_text_is_left_alone():
    text = "risk-management and sk-learn pipelines; 100% of tests; a%20b is a space; task-1234"
    assert redact(text) == text


def test_the_access_log_masks_secrets_in_query_strings():
    assert logged_uri("/dashboard?token=abc123def456&next=chat") == "/dashboard?token=***&next=chat"
    assert ANTHROPIC not in logged_uri(f"/v1/messages?q={ANTHROPIC}")
    assert logged_uri("/health") == "/health"
