"""Comparing a secret a request offers (the access token, its cookie, the proxy key) with ours."""

from __future__ import annotations

import hmac


def same_secret(candidate: str | None, expected: str) -> bool:
    """Whether ``candidate`` is ``expected``, in constant time: response timing says nothing
    about how much of a guess was right."""
    return candidate is not None and hmac.compare_digest(candidate.encode(), expected.encode())
