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
