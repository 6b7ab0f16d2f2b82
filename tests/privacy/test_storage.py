"""What the store keeps of private data (``trooper/privacy/storage.py``)."""

from __future__ import annotations

from trooper.conversation import IDENTIFIER_KEYS
from trooper.privacy import CustomRules
from trooper.privacy.storage import StoreMask

KEY = "AKIAQ3EGRTW5J2KD7XPL"


def test_a_kept_response_is_masked_but_its_ids():
    mask = StoreMask(CustomRules(), keep_personal=False)
    body = {"id": f"resp_{KEY}", "output": [{"id": f"msg_{KEY}", "call_id": KEY, "text": f"key {KEY}"}]}
    assert mask.data(body, skip=IDENTIFIER_KEYS) == {
        "id": f"resp_{KEY}", "output": [{"id": f"msg_{KEY}", "call_id": KEY, "text": "key [REDACTED:aws_access_key]"}],
    }  # fmt: skip
    assert mask.data(body)["output"][0]["call_id"] == "[REDACTED:aws_access_key]", "only what it is told to skip"


def test_a_providers_ciphertext_is_stored_as_it_came():
    """An OpenAI reasoning item's encrypted_content that happens to hold a key's shape is not
    rewritten: the continuation read from the store sends it back to OpenAI, which checks it."""
    mask = StoreMask(CustomRules(), keep_personal=False)
    blob = f"gAAAAB/{KEY}/Zm9vYmFy"  # base64 holds "/": the key shape stands alone
    block = {"type": "thinking", "openai_item": {"type": "reasoning", "encrypted_content": blob}, "thinking": f"key {KEY}"}
    kept = mask.data([block])[0]
    assert kept["openai_item"]["encrypted_content"] == blob
    assert kept["thinking"] == "key [REDACTED:aws_access_key]"


def test_a_secret_found_in_context_is_masked_where_it_appears_alone_later():
    mask = StoreMask(CustomRules(), keep_personal=False)
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzK8h3jq9Pz"
    assert mask.text(secret) == secret  # alone, nothing says it is a secret
    turn = mask.text(f"why does the upload fail?\naws_secret_access_key={secret}")
    assert secret not in turn
    # a SITREP read from that turn lists the value alone: the store keeps it masked all the same
    sitrep = mask.data({"entities": ["aws_secret_access_key", secret], "open_loops": [f"upload with {secret} fails"]})
    assert secret not in str(sitrep) and sitrep["entities"][0] == "aws_secret_access_key"


def test_a_short_secret_is_masked_where_found_but_not_remembered():
    mask = StoreMask(CustomRules(), keep_personal=False)
    assert "abc1" not in mask.text("password=abc1")
    assert mask.text("the abc1 build") == "the abc1 build"
