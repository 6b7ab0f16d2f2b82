"""Reading and comparing a secret a request offers (the access token, its cookie, the proxy key,
a provider key) with ours."""

from __future__ import annotations

import hmac


def same_secret(candidate: str | None, expected: str) -> bool:
    """Whether ``candidate`` is ``expected``, in constant time: response timing says nothing
    about how much of a guess was right."""
    return candidate is not None and hmac.compare_digest(candidate.encode(), expected.encode())


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (any case), else None."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None
