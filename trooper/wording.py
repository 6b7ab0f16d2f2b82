"""Counts in what people read — CLI and notebook output, headers, error messages — go through
``counted`` so that one of anything is singular. The pages have its twin in ``common.js``."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``1 turn``, ``2 turns``, ``0 turns``; ``plural`` for nouns that do not just take an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
