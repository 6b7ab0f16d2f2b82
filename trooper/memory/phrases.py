"""Fast regex alternations of many phrases, grouped by their first character.

Python's ``re`` tries the alternatives of ``\\b(?:fixed|merged|…)`` one after the other at every
position of the text: with a few hundred phrases that is most of the cost of reading a turn.
``compile_phrases`` rewrites such patterns into one alternation per first character
(``f(?:ixed|…)|m(?:erged|…)``), which the regex engine dispatches on the first character, common
letters first. Every branch opens with its literal (a ``\\b`` before a phrase becomes ``(?<!\\wf)`` after its first
character), so the engine also gets a set of first characters and skips, in C, the positions
where no phrase can start.

The rewrite keeps the semantics of the original ordered alternation exactly: phrases with
different first characters can never match at the same position, and within one first
character the original order is kept. Each family's label is recovered from the capturing
group that matched (``Phrases.label``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Sequence

_QUANTIFIERS = "?*+{"
_BOUNDARY = "\\b"
#: English letters by frequency: the engine tries the branches in order at every position, so
#: the common letters come first (branches of different first characters never compete).
_LETTER_ORDER = {letter: rank for rank, letter in enumerate("etaoinsrhldcumfpgwybvkxjqz")}


@dataclass(frozen=True)
class _Phrase:
    label: str
    #: ``\b`` before it in the original pattern.
    boundary: bool
    #: The regex fragment after its first character.
    rest: str
    first: str


def split_alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of ``pattern``."""
    parts, depth, start, index, in_class = [], 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts


def group_end(pattern: str) -> int:
    """Index just past the group that opens ``pattern``."""
    depth, index = 0, 0
    while True:
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        depth += (char == "(") - (char == ")")
        index += 1
        if depth == 0:
            return index


def flatten(pattern: str, boundary: bool = False) -> Iterator[tuple[bool, str]]:
    """``(boundary, fragment)`` for each alternative, leading groups expanded, in order.

    ``\\b(?:a|b)\\bc`` gives ``(True, "a\\bc")``, ``(True, "b\\bc")``: the same ordered alternation.
    """
    for alternative in split_alternatives(pattern):
        leading = boundary
        if alternative.startswith(_BOUNDARY):
            leading, alternative = True, alternative[len(_BOUNDARY) :]
        if alternative.startswith("(?:"):
            end = group_end(alternative)
            if alternative[end : end + 1] and alternative[end] in _QUANTIFIERS:
                raise ValueError(f"a quantified leading group cannot be split: {alternative!r}")
            rest = alternative[end:]
            for inner, inner_fragment in flatten(alternative[3 : end - 1], leading):
                yield inner, inner_fragment + rest
        else:
            yield leading, alternative


def split_at_word_starts(pattern: str) -> tuple[str, str]:
    """``pattern``'s phrases that start a word (``\\b`` before them) and the others, as two patterns."""
    starting: list[str] = []
    inner: list[str] = []
    for boundary, fragment in flatten(pattern):
        (starting if boundary else inner).append(_BOUNDARY + fragment if boundary else fragment)
    return "|".join(starting), "|".join(inner)


def _phrases(label: str, pattern: str, flags: int) -> Iterator[_Phrase]:
    for boundary, fragment in flatten(pattern):
        first = fragment[:1]
        if not re.fullmatch(r"\w", first, flags) or fragment[1:2] in tuple(_QUANTIFIERS):
            raise ValueError(f"a phrase must open with a literal word character: {fragment!r}")
        yield _Phrase(label, boundary, fragment[1:], first)


def _runs(phrases: Sequence[_Phrase], labels: list[str]) -> str:
    """``(…)|(…)``: one capturing group per run of one label, in order."""
    runs: list[tuple[str, list[str]]] = []
    for phrase in phrases:
        if runs and runs[-1][0] == phrase.label:
            runs[-1][1].append(phrase.rest)
        else:
            runs.append((phrase.label, [phrase.rest]))
    labels.extend(label for label, _ in runs)
    return "|".join("(" + "|".join(rests) + ")" for _, rests in runs)


def _by_first(phrases: Sequence[_Phrase], labels: list[str]) -> str:
    """``a(?:…)|b(?:…)``: one branch per first character.

    Where ``\\b`` holds before the first character (it is a word character: the character before
    it is not), every phrase may match, in order; elsewhere only those without ``\\b``.
    """
    branches = []
    firsts = dict.fromkeys(p.first for p in phrases)
    for first in sorted(firsts, key=lambda char: _LETTER_ORDER.get(char, len(_LETTER_ORDER))):
        mine = [p for p in phrases if p.first == first]
        unbounded = [p for p in mine if not p.boundary]
        literal = re.escape(first)
        at_word_start = rf"(?<!\w{literal})"
        if len(unbounded) == len(mine):
            branches.append(f"{literal}(?:{_runs(mine, labels)})")
        elif not unbounded:
            branches.append(f"{literal}{at_word_start}(?:{_runs(mine, labels)})")
        else:
            every = _runs(mine, labels)
            branches.append(f"{literal}(?:{at_word_start}(?:{every})|{_runs(unbounded, labels)})")
    return "|".join(branches)


@dataclass(frozen=True)
class Phrases:
    """A compiled alternation of labelled phrase families; see the module docstring."""

    pattern: re.Pattern[str]
    #: Label of each capturing group, by group number (index 0 unused).
    labels: tuple[str, ...]

    def label(self, match: re.Match[str]) -> str:
        return self.labels[match.lastindex or 0]


def compile_phrases(families: Sequence[tuple[str, str]], flags: int = 0) -> Phrases:
    """Compile ``(label, pattern)`` families as ``(?P<label>pattern)|…`` would match, faster.

    Every alternative of every pattern must open with a literal word character (under ``flags``), optionally
    after ``\\b`` or inside leading non-capturing groups (``\\b(?:fixed|(?:it|that) works)\\b``).
    """
    phrases = [phrase for label, pattern in families for phrase in _phrases(label, pattern, flags)]
    labels = [""]
    return Phrases(re.compile(_by_first(phrases, labels), flags), tuple(labels))
