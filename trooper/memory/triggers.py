"""Trigger words: a set look-up that tells when a phrase family cannot match, before any regex.

A phrase such as ``\\bno longer (?:fails?|crash(?:es)?)\\b`` can only match a text whose words
(its ``\\w`` runs) include ``longer``. ``Triggers`` derives such a word from every alternative of
a family's pattern (expanding its optional parts and groups), so that ``words & triggers`` (one
C-level set intersection per turn) rules the family out, and ``word in sentence`` then says
which sentences may hold a match. Alternatives without a whole word (``erro`` matches inside
"error", ``ya no`` anywhere) contribute a literal substring instead.

The look-up is a necessary condition only: where a trigger is found, the family's own regex
decides, so what matches is unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from typing import Iterable

from trooper.memory.phrases import flatten, group_end, split_alternatives

#: Placeholders in an expanded phrase: characters not known (``\\w``, ``[…]``), a blank of any
#: kind (``\\s``), and a zero-width word boundary (``\\b``, ``$``).
_UNKNOWN, _BLANK, _EDGE = "\x00", "\x02", "\x01"
_SPECIAL = _UNKNOWN + _BLANK + _EDGE
#: Words too common to be worth a look-up when a phrase offers another: "is (?:flat|green)"
#: is keyed on its second word.
_COMMON = frozenset(
    """a i it is are be been to in at on of no not now has have with that this the we will use any more back next
    can does doesn test tests check checks build builds start starts load loads run runs pipeline pipelines
    works working stay stays times""".split()
)
#: ASCII characters that are not ``\\w``: blanked, a text's ``str.split`` gives its words.
_NON_WORD = bytes(c if chr(c).isalnum() or chr(c) == "_" else 32 for c in range(128)) + bytes(range(128, 256))


def ascii_words(lowered: str) -> set[str]:
    """The ``\\w`` runs of an ASCII text (one ``bytes.translate`` and ``split``, both in C)."""
    return set(lowered.encode().translate(_NON_WORD).decode().split())


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _atom(fragment: str, index: int) -> tuple[list[str], int]:
    """Expansions of the atom at ``index`` and the index after it."""
    char = fragment[index]
    if char == "\\":
        escaped = fragment[index + 1]
        if escaped == "b":
            return [_EDGE], index + 2
        if escaped == "s":
            return [_BLANK], index + 2
        if escaped in "wdWDS":
            return [_UNKNOWN], index + 2
        return [escaped], index + 2
    if char == "(":
        end = index + group_end(fragment[index:])
        if fragment.startswith(("(?=", "(?!", "(?<=", "(?<!"), index):
            return [""], end  # a look-around consumes nothing
        if fragment.startswith("(?P<", index):
            start = fragment.index(">", index) + 1
        elif fragment.startswith("(?:", index):
            start = index + 3
        elif fragment.startswith("(?", index):
            raise ValueError(f"unsupported group in {fragment!r}")
        else:
            start = index + 1
        inner = fragment[start : end - 1]
        return [form for alternative in split_alternatives(inner) for form in expand(alternative)], end
    if char == "[":
        return [_UNKNOWN], fragment.index("]", index + 2) + 1
    if char == ".":
        return [_UNKNOWN], index + 1
    if char in "$^":
        return [_EDGE], index + 1
    return [char], index + 1


def _repeated(expansions: list[str], quantifier: str) -> list[str]:
    """A quantified atom: optional when it may occur zero times; a repeat's word edges unknown."""
    optional = quantifier in "?*" or quantifier.startswith(("{0,", "{0}"))
    if quantifier != "?":  # repeated: a word at either edge may run on into the next copy
        expansions = [
            (_UNKNOWN if e[:1] and _is_word_char(e[0]) else "") + e + (_UNKNOWN if e[-1:] and _is_word_char(e[-1]) else "")
            for e in expansions
        ]
    return [""] + expansions if optional else expansions


def expand(fragment: str) -> list[str]:
    """Every form of a regex fragment, with the placeholders above for what is not literal."""
    sequence: list[list[str]] = []
    index = 0
    while index < len(fragment):
        expansions, index = _atom(fragment, index)
        if index < len(fragment) and fragment[index] in "?*+{":
            end = fragment.index("}", index) + 1 if fragment[index] == "{" else index + 1
            expansions = _repeated(expansions, fragment[index:end])
            index = end
        sequence.append(expansions)
    return ["".join(parts) for parts in product(*sequence)]


def _whole_words(form: str) -> list[str]:
    """The words of an expanded phrase that a match must hold whole, as ``\\w`` runs."""
    words, index = [], 0
    while index < len(form):
        if not _is_word_char(form[index]) or form[index] in _SPECIAL:
            index += 1
            continue
        end = index
        while end < len(form) and _is_word_char(form[end]) and form[end] not in _SPECIAL:
            end += 1
        before, after = form[index - 1 : index], form[end : end + 1]
        if before and after and _UNKNOWN not in (before, after):
            words.append(form[index:end])
        index = end
    return words


def _literal(form: str) -> str:
    """The longest stretch of literal characters: what a phrase without whole words must contain."""
    stretches = "".join(_EDGE if char in _SPECIAL else char for char in form).split(_EDGE)
    return max(stretches, key=len)


@dataclass(frozen=True)
class Triggers:
    """What a text must contain for a family of phrases to match; see the module docstring."""

    words: frozenset[str]
    #: Literal substrings of the alternatives that have no whole word.
    substrings: tuple[str, ...]
    #: Those an ASCII text may contain.
    ascii_substrings: tuple[str, ...]

    def found_in_ascii(self, words: set[str], lowered: str) -> tuple[str, ...]:
        """The triggers present in an ASCII text, given its words (``ascii_words``) and itself."""
        return tuple(words & self.words) + tuple(filter(lowered.__contains__, self.ascii_substrings))

    def any_in_ascii(self, words: set[str], lowered: str) -> bool:
        """Whether any trigger is present: ``found_in_ascii`` without collecting them."""
        return not self.words.isdisjoint(words) or any(map(lowered.__contains__, self.ascii_substrings))

    def may_match(self, lowered: str, words: set[str] | None = None) -> bool:
        """Whether a pattern of these triggers may match ``lowered``: always in a text that is not
        ASCII, else only where a trigger occurs (``words``: its ``ascii_words``, when known)."""
        if words is None:
            if not lowered.isascii():
                return True
            words = ascii_words(lowered)
        return self.any_in_ascii(words, lowered)


def derive_triggers(patterns: Iterable[str]) -> Triggers:
    """``Triggers`` of regex patterns of lowercase phrases, matched against lowercase text.

    The patterns take the forms ``phrases.compile_phrases`` accepts, without inline flags.
    """
    words: set[str] = set()
    substrings: dict[str, None] = {}
    for pattern in patterns:
        for boundary, fragment in flatten(pattern):
            for form in expand(fragment):
                whole = _whole_words((_EDGE if boundary else "") + form)
                if whole:
                    words.add(min(whole, key=lambda word: (len(word) < 3, word in _COMMON, -len(word))))
                else:
                    substrings.setdefault(_literal(form), None)
    return Triggers(frozenset(words), tuple(substrings), tuple(s for s in substrings if s.isascii()))


class GatedSearch:
    """Whether an alternation matches anywhere in a text, alternative by alternative.

    A regex of many alternatives that open with no literal (``\\b…``, ``^…`` under re.M) is tried
    at every position of the text, each alternative in turn. Searched alone, each alternative
    runs only where its triggers occur (for ASCII texts; others take the whole regex), and most
    texts hold the triggers of none or one. Works for patterns of any case, matched against
    text of the same case.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self._whole = pattern
        self._alternatives = [
            (derive_triggers([alternative]), re.compile(alternative, pattern.flags))
            for alternative in split_alternatives(pattern.pattern)
        ]

    def search(self, text: str) -> bool:
        if not text.isascii():
            return bool(self._whole.search(text))
        words = ascii_words(text)
        return any(triggers.any_in_ascii(words, text) and regex.search(text) for triggers, regex in self._alternatives)
