"""Images tests send as clients."""

from __future__ import annotations

import base64

#: A 1×1 PNG, base64-encoded as every SDK sends image data.
TINY_PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()
