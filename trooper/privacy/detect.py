"""One entry point over every detector: the findings in a text, overlaps resolved, in text order."""

from __future__ import annotations

from trooper.privacy.custom import CustomRules, find_custom
from trooper.privacy.findings import Finding, without_overlaps
from trooper.privacy.personal import find_personal
from trooper.privacy.secrets import find_secrets

#: Findings less sure than this are not acted on (they stay out of ``detect``'s answer).
MIN_CONFIDENCE = 0.5

_NO_RULES = CustomRules()


def detect(text: str, rules: CustomRules = _NO_RULES) -> list[Finding]:
    """The secrets and personal data in ``text``."""
    if not text:
        return []
    found = [*find_secrets(text), *find_personal(text)]
    if rules:
        found.extend(find_custom(text, rules))
    return without_overlaps([f for f in found if f.confidence >= MIN_CONFIDENCE])
