"""Shannon entropy and the tells of a made-up value, shared by the secret detectors."""

from __future__ import annotations

import math
import re
from collections import Counter

from detect_secrets.filters.heuristic import is_sequential_string, is_templated_secret

# Words that mark a value as a placeholder or a fixture, not a credential.
_FAKE_WORDS = re.compile(r"(?i)example|xxxx|\*\*\*|dummy|fake|placeholder|redacted|changeme|your[_-]?|sample|<|>|\.\.\.|…|\{\{|\$\{")


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (0 for an empty string)."""
    if not value:
        return 0.0
    length = len(value)
    return -sum(count / length * math.log2(count / length) for count in Counter(value).values())


def looks_made_up(value: str) -> bool:
    """True for documentation placeholders and fixtures: ``AKIAIOSFODNN7EXAMPLE``, ``<your-key>``,
    ``${DB_PASSWORD}``, ``xxxxxxxx``, ``abcdef0123456789``, one character repeated."""
    if len(value) < 2 or is_templated_secret(value) or _FAKE_WORDS.search(value):
        return True
    if is_sequential_string(value):
        return True
    # a run of one character over half the value: "sk-aaaaaaaaaaaaaaaaaaaa1", "0000000000000000"
    return len(value) >= 8 and max(map(value.count, set(value))) > len(value) / 2
