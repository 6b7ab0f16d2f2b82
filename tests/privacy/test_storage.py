"""What the store keeps of private data (``trooper/privacy/storage.py``)."""

from __future__ import annotations

from trooper.conversation import IDENTIFIER_KEYS, HostedToolBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock
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


def test_a_shared_walk_masks_a_text_it_left_as_it_was_once_the_mask_learns_a_secret_in_it():
    """``data(share=True)`` passes over texts the mask is known to leave as they are; learning a
    secret forgets them, so the next walk masks the value where it appears alone."""
    mask = StoreMask(CustomRules(), keep_personal=False)
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzK8h3jq9Pz"
    body = {"object": "response", "output": [{"text": secret}]}
    assert mask.data(body, share=True) is body
    mask.text(f"aws_secret_access_key={secret}")  # a later turn, masked as it is recorded
    kept = mask.data(body, share=True)
    assert kept == {"object": "response", "output": [{"text": "[REDACTED:aws_secret_key]"}]} and body["output"][0]["text"] == secret
    assert kept == mask.data(body)


def test_a_short_secret_is_masked_where_found_but_not_remembered():
    mask = StoreMask(CustomRules(), keep_personal=False)
    assert "abc1" not in mask.text("password=abc1")
    assert mask.text("the abc1 build") == "the abc1 build"


def test_a_blocks_own_ids_are_stored_as_they_came():
    """A random tool call id can hold a digit run a card number's check accepts ("toolu_b4539…"):
    masked, the stored transcript no longer matched the history its client resent (a 32-client
    balancer run found one) and the result no longer named its call. What the blocks hold is
    masked, ids inside a tool's input included."""
    mask = StoreMask(CustomRules(), keep_personal=False)
    call_id, card = "toolu_b4539148803436467c163344e", "4539 1488 0343 6467"
    call = mask.message(Message("assistant", [ToolUseBlock(call_id, "pay", {"card": card, "id": card.replace(" ", "")})]))
    result = mask.message(Message("user", [ToolResultBlock(call_id, [TextBlock(f"charged {card}")])]))
    assert call.content[0].id == call_id and result.content[0].tool_use_id == call_id
    assert call.content[0].input == {"card": "[REDACTED:card_number]", "id": "[REDACTED:card_number]"}
    assert result.content[0].content[0].text == "charged [REDACTED:card_number]"
    item = {"type": "web_search_call", "id": "ws_4539148803436467", "action": {"query": f"card {card}"}}
    kept = mask.message(Message("assistant", [HostedToolBlock(item)])).content[0].item
    assert kept == {**item, "action": {"query": "card [REDACTED:card_number]"}}
