"""Trigger words: whenever a phrase family matches a text, its triggers are found in the text."""

from __future__ import annotations

import random

import pytest

from tests.memory.corpus import load_corpus
from trooper.memory.sitrep import cues
from trooper.memory.sitrep.entities import extract_entities
from trooper.memory.triggers import ascii_words, derive_triggers, expand

FAMILIES = {
    "pending": cues._PENDING,
    "done": cues._DONE,
    "still": cues._STILL,
    "problem": cues._PROBLEM,
    "decision": cues._DECISION,
    "constraint": cues._CONSTRAINT,
}
CUE_TEXT = """not merged yet. it isn't   working yet; no longer fails, that did the trick! tests now pass. ci green
we've just fixed it but it still times out (again) - we decided to go with redis, we'll use pg. must not use x
can't use numpy; don't use it. no new dependencies, stay under 5. blocked/pending review. to-do: follow-up
won't start. returns 502 - cut off. ya no falla, erro, fehler. toujours pas. it now runs. builds fine. stays flat
is back to normal. went through. no more errors. crashes_ leaked2 x-failing failing_test re-ran rewrote"""


def _texts() -> list[str]:
    lines = [line for s in load_corpus() for m in s.messages for line in m.text().lower().splitlines() if line.strip()]
    pieces = CUE_TEXT.split() + [w for line in lines[:400] for w in line.split()]
    separators = [" ", " ", "  ", "\n", "-", "'", "_", ".", ",", ";", "(", "/", ""]
    rng = random.Random(7)
    fuzzed = ["".join(rng.choice(pieces) + rng.choice(separators) for _ in range(rng.randint(1, 14))) for _ in range(4000)]
    return [t for t in lines + CUE_TEXT.splitlines() + fuzzed if t.isascii()]


TEXTS = _texts()


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_family_matches_only_where_its_triggers_are_found(family):
    pattern = FAMILIES[family]
    triggers = derive_triggers([pattern.pattern])
    matched = 0
    for text in TEXTS:
        if pattern.search(text):
            matched += 1
            assert triggers.any_in_ascii(ascii_words(text), text), text
            assert triggers.found_in_ascii(ascii_words(text), text), text
    assert matched > 10


def test_the_word_start_scan_finds_what_the_full_scan_finds_without_inner_triggers():
    checked = 0
    for text in TEXTS:
        if not cues._INNER_TRIGGERS.found_in_ascii(ascii_words(text), text):
            checked += 1
            assert cues._signals(text, cues._WORD_SIGNALS) == cues._signals(text, cues._SIGNALS), text
    assert checked > 1000


def test_expansion_of_optional_parts_groups_and_repeats():
    assert expand(r"fail(?:s|ed)?\b") == ["fail\x01", "fails\x01", "failed\x01"]
    assert expand(r"not\s+(?:\w+\s+){0,3}yet\b") == ["not\x02yet\x01", "not\x02\x00\x02yet\x01"]
    assert expand(r"läuft(?! nicht)") == ["läuft"]


def test_triggers_prefer_rare_whole_words_and_fall_back_to_substrings():
    triggers = derive_triggers([r"\b(?:is (?:flat|gone)|no longer fails?|won't start)\b|erro|ya no"])
    assert triggers.words == {"flat", "gone", "longer", "won"}
    assert triggers.substrings == ("erro", "ya no")


def _mixed_case_texts() -> list[str]:
    turns = [m.text() for s in load_corpus() for m in s.messages if m.text().isascii()]
    rng = random.Random(11)
    pieces = (
        [w for t in turns for w in t.split()] + CUE_TEXT.split() + "Node.js C++ .NET scikit-learn GitHub Actions asp.net".split()
    )
    fuzzed = [" ".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    return turns + fuzzed


MIXED = _mixed_case_texts()


def test_word_look_ups_never_change_a_turn_reading(monkeypatch):
    gated = [cues.read_turn(text, user) for text in MIXED for user in (True, False)]
    monkeypatch.setattr(cues, "turn_words", lambda lowered: None)  # the regexes alone, as for non-ASCII text
    assert [cues.read_turn(text, user) for text in MIXED for user in (True, False)] == gated


def test_word_look_ups_never_change_the_entities():
    for text in MIXED:
        assert extract_entities(text, cues.turn_words(text.lower())) == extract_entities(text), text


def test_named_groups_expand_and_other_inline_groups_are_refused():
    assert expand(r"(?P<verb>fixed|merged)\b") == ["fixed\x01", "merged\x01"]
    with pytest.raises(ValueError):
        expand(r"(?i)fixed")


def test_may_match_gates_ascii_texts_only_and_takes_their_words_when_known():
    triggers = derive_triggers([r"\b(?:still|again)\b"])
    assert triggers.may_match("it still fails") and triggers.may_match("it still fails", ascii_words("it still fails"))
    assert not triggers.may_match("it fails on ci") and not triggers.may_match("it fails on ci", ascii_words("it fails on ci"))
    assert triggers.may_match("es schlägt fehl")  # not ASCII: the pattern itself decides
