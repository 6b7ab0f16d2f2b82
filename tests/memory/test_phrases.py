"""The first-character alternation matches exactly as the ordered alternation it replaces."""

from __future__ import annotations

import random
import re

import pytest

from tests.memory.corpus import load_corpus
from trooper.memory.phrases import compile_phrases
from trooper.memory.sitrep import cues

FAMILIES = [
    ("pending", cues._PENDING.pattern),
    ("done", cues._DONE.pattern),
    ("still", cues._STILL.pattern),
    ("problem", cues._PROBLEM.pattern),
    ("negation", cues._NEGATION.pattern),
    ("hypothetical", cues._HYPOTHETICAL.pattern),
]
NAIVE = re.compile("|".join(f"(?P<{label}>{pattern})" for label, pattern in FAMILIES))


def _samples() -> list[str]:
    lines = [
        line.lower()
        for session in load_corpus()
        for message in session.messages
        for line in message.text().splitlines()
        if line.strip()
    ]
    words = " ".join(lines).split()
    rng = random.Random(3)
    shuffled = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 30))) for _ in range(2_000)]
    edges = ["isn't merged yet", "it works", "terror", "toujours pas", "ainda não corrigido", "ビルドは成功しました"]
    edges += ["unfixed", "prefixed merged", "x-fixed", "_done", "9done", "éfixed", "fixed", " fixed", "もうfixed"]
    return lines + shuffled + edges


def test_same_matches_as_the_ordered_alternation():
    fast = compile_phrases(FAMILIES)
    for text in _samples():
        expected = [(m.lastgroup, m.span()) for m in NAIVE.finditer(text)]
        assert [(fast.label(m), m.span()) for m in fast.pattern.finditer(text)] == expected, text


@pytest.mark.parametrize("pattern", [r"(?:ab)?c", r"\d+ms", r"x?yz"])
def test_a_phrase_must_open_with_a_literal(pattern):
    with pytest.raises(ValueError):
        compile_phrases([("x", pattern)])
