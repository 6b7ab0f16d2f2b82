"""What a detector reports: the kind of private data, where it is, and how sure the detector is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Category = Literal["secret", "personal"]

SECRET_KINDS = (
    "anthropic_key", "openai_key", "google_api_key", "aws_access_key", "aws_secret_key", "github_token",
    "gitlab_token", "slack_token", "stripe_key", "jwt", "private_key", "connection_password",
    "password_assignment", "high_entropy_secret",
    # the owner's own rules (TROOPER_PRIVATE_PATTERNS, TROOPER_PRIVATE_PATHS)
    "private_pattern", "private_path",
)  # fmt: skip
PERSONAL_KINDS = ("email", "phone", "card_number", "iban", "national_id", "ip_address")


@dataclass(frozen=True)
class Finding:
    """One piece of private data in a text: ``text[start:end]`` is the value (never logged)."""

    kind: str
    category: Category
    start: int
    end: int
    #: 0..1: how likely the value is what ``kind`` says (a checksum or a key prefix: high).
    confidence: float

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


def category_of(kind: str) -> Category:
    return "personal" if kind in PERSONAL_KINDS else "secret"


def finding(kind: str, start: int, end: int, confidence: float) -> Finding:
    return Finding(kind, category_of(kind), start, end, confidence)


def without_overlaps(findings: list[Finding]) -> list[Finding]:
    """The findings in text order, an overlapped one dropped for the more confident (then longer) one
    covering it: a key inside a ``password=`` assignment is reported once, as the key."""
    ranked = sorted(findings, key=lambda f: (-f.confidence, -(f.end - f.start), f.start))
    kept: list[Finding] = []
    for candidate in ranked:
        if all(candidate.end <= other.start or candidate.start >= other.end for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda f: f.start)


def replace_findings(text: str, findings: list[Finding], replacement: Callable[[Finding], str | None]) -> str:
    """``text`` with each finding's value replaced by what ``replacement`` gives for it (None keeps
    the value); ``findings`` in text order, not overlapping, as ``detect`` reports them."""
    parts, position = [], 0
    for found in findings:
        instead = replacement(found)
        if instead is not None:
            parts += [text[position : found.start], instead]
            position = found.end
    return "".join(parts) + text[position:] if parts else text
