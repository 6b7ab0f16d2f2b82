"""One entry point over every detector: the findings in a text, overlaps resolved, in text order."""

from __future__ import annotations

from collections import OrderedDict

from trooper.privacy.custom import CustomRules, find_custom
from trooper.privacy.findings import Finding, without_overlaps
from trooper.privacy.personal import find_personal
from trooper.privacy.secrets import find_secrets

#: Findings less sure than this are not acted on (they stay out of ``detect``'s answer).
MIN_CONFIDENCE = 0.5

_NO_RULES = CustomRules()


class RecentScans:
    """The texts scanned last, with what was found in them: a turn's new text is scanned where
    routing decides (``routing/privacy.py``), then where the store masks it (``storage.py``), a
    few milliseconds apart. Bounded in texts and in characters, so few texts are kept alive; the
    last one is kept however long (a long tool output is the costliest to scan twice)."""

    def __init__(self, texts: int = 256, characters: int = 4_000_000) -> None:
        self.texts = texts
        self.characters = characters
        self._found: OrderedDict[tuple[str, CustomRules], tuple[Finding, ...]] = OrderedDict()
        self._kept_characters = 0

    def findings(self, text: str, rules: CustomRules) -> tuple[Finding, ...]:
        key = (text, rules)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = tuple(_scan(text, rules))
            self._kept_characters += len(text)
            self._forget_oldest()
        return found

    def _forget_oldest(self) -> None:
        while len(self._found) > 1 and (len(self._found) > self.texts or self._kept_characters > self.characters):
            try:  # one call, so another thread's scan cannot change the dict between finding and taking
                (oldest, _) = self._found.popitem(last=False)
            except KeyError:
                return
            self._kept_characters -= len(oldest[0])


_recent = RecentScans()


def detect(text: str, rules: CustomRules = _NO_RULES) -> list[Finding]:
    """The secrets and personal data in ``text``."""
    if not text:
        return []
    return list(_recent.findings(text, rules))


def _scan(text: str, rules: CustomRules) -> list[Finding]:
    found = [*find_secrets(text), *find_personal(text)]
    if rules:
        found.extend(find_custom(text, rules))
    return without_overlaps([f for f in found if f.confidence >= MIN_CONFIDENCE])
