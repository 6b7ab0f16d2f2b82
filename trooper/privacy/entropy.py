"""Shannon entropy and the tells of a made-up value, shared by the secret detectors."""

from __future__ import annotations

import math
import re
from collections import Counter

from detect_secrets.filters.heuristic import is_sequential_string, is_templated_secret

# Words that mark a value as a placeholder or a fixture, not a credential. An ASCII value is
# lower-cased and searched case-sensitively (5x faster than a case-blind search, same answer: only
# letters outside ASCII fold differently, such as the Kelvin sign matching "k").
_FAKE_WORD_ALTERNATIVES = r"example|xxxx|\*\*\*|dummy|fake|placeholder|redacted|changeme|your[_-]?|sample|<|>|\.\.\.|…|\{\{|\$\{"
_FAKE_WORDS = re.compile(_FAKE_WORD_ALTERNATIVES, re.IGNORECASE)
_FAKE_WORDS_LOWER = re.compile(_FAKE_WORD_ALTERNATIVES)


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value`` (0 for an empty string)."""
    if not value:
        return 0.0
    length = len(value)
    return -sum(count / length * math.log2(count / length) for count in Counter(value).values())


def looks_random(value: str) -> bool:
    """A value of 16 characters or more mixing digits, lower and upper case at 4 bits a character
    or more, and no placeholder: how a generated key looks (``wJalrXUtnFEMI/K7MDENG/…``), and no
    name a person writes."""
    return (
        len(value) >= 16
        and any(c.isdigit() for c in value) and any(c.islower() for c in value) and any(c.isupper() for c in value)
        and shannon_entropy(value) >= 4.0
        and not looks_made_up(value)
    )


def looks_made_up(value: str) -> bool:
    """True for documentation placeholders and fixtures: ``AKIAIOSFODNN7EXAMPLE``, ``<your-key>``,
    ``${DB_PASSWORD}``, ``xxxxxxxx``, ``abcdef0123456789``, one character repeated."""
    if len(value) < 2 or is_templated_secret(value) or _has_fake_word(value):
        return True
    if is_sequential_string(value):
        return True
    # a run of one character over half the value: "sk-aaaaaaaaaaaaaaaaaaaa1", "0000000000000000";
    # with d distinct characters none occurs more than len - (d - 1) times, so most values need no count
    if len(value) < 8:
        return False
    distinct = set(value)
    return len(value) - len(distinct) + 1 > len(value) / 2 and max(map(value.count, distinct)) > len(value) / 2


def _has_fake_word(value: str) -> bool:
    if value.isascii():
        return _FAKE_WORDS_LOWER.search(value.lower()) is not None
    return _FAKE_WORDS.search(value) is not None
