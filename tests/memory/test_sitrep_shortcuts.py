"""The SITREP extractor's shortcuts decide as the plain computation would: literal prefilters
before regexes, what a build keeps from the last one (the entities listed: tests/memory/test_entity_ranker.py).

(Every dev session's SITREP before and after a speed change: ``bench/sitrep_outputs.py --baseline``.)
"""

from __future__ import annotations

import random
import re

from tests.memory.corpus import load_split
from trooper.conversation import ToolResultBlock
from trooper.memory.sitrep import agent_steps, builder, cues, entities, intent, items
from trooper.memory.sitrep.builder import _LIST_ITEM, SitrepBuilder, _window, extract_sitrep
from trooper.memory.sitrep.intent import may_change_task

DEV = load_split("dev")
TEXTS = [_window(m.text()) for s in DEV for m in s.messages if m.text()]
OUTPUTS = [_window(b.text()) for s in DEV for m in s.messages for b in m.content if isinstance(b, ToolResultBlock)]
FRAGMENTS = (
    "3 failed", "FAIL", "FAILED", "error: x", "error TS2304", "BUILD FAILURE", "npm ERR!", "Traceback (most recent call last)",
    "panic: x", "exit code 2", "exit status 1", "Error: y", "ERROR", "Tests: 4 failed", "could not compile", "INFO", "WARNING",
    "DEBUG", "TRACE", "xINFO", "- item", "12) two", "* three", "• four", "instead", "actually", "scratch that", "é",
    "it dies", "returns 503", "keeps crashing", "don't", "we don't", "do not", "no longer", "app.py", "a/b", "`x`", "foo()",
    "a_b", "different thing:", "fails", "erro", "stuck", " because x", " so that", " e.g. x", " like x", "thanks!", " thx .",
    "Cheers", " ty", "tomorrow", "so fix it", "i want to", "we need a", ", can you", "help me", "let's go", "¿puedes",
    "j'aimerais", "ayúdame con", "how do i", "my goal is to", "our boss wants", "passes", "green", "works", "next sprint", "not yet", "I'll", "tests", "still", "again", "main.py", ".py", "x-.go",
)


def _fuzzed(count: int, seed: int) -> list[str]:
    """Corpus lines recombined with the fragments the prefilters look for, in every position."""
    rng = random.Random(seed)
    lines = [line for text in TEXTS[:400] for line in text.splitlines() if line.strip()]
    pieces = lines + list(FRAGMENTS) + ["\n", " ", "", "\t", ":", "1", "e"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(count)]


def test_failure_prefilter_matches_the_regex():
    for output in OUTPUTS + _fuzzed(4000, 1):
        assert agent_steps._reports_failure(output) == bool(agent_steps._FAILED.search(output)), output


def test_log_line_prefilter_matches_the_regex():
    whole = re.compile(cues._LOG_LINE.pattern + "|" + cues._LOG_LEVEL.pattern)
    sentences = [s for text in TEXTS for s in cues.sentences(text)] + _fuzzed(4000, 2)
    for sentence in sentences:
        assert cues.is_log_line(sentence) == bool(whole.match(sentence)), sentence


def test_list_items_after_a_newline_are_the_multiline_pattern():
    multiline = re.compile(r"^[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+(.+)$", re.M)
    for text in TEXTS + _fuzzed(4000, 3):
        assert _LIST_ITEM.findall("\n" + text) == multiline.findall(text), text


def test_log_lines_after_a_newline_are_the_multiline_pattern():
    for text in TEXTS + _fuzzed(4000, 5) + [f"x\n{line}" for line in ("2024-01-02 x", "  at a.b(", 'File "x"', "12:00:00")]:
        assert bool(entities._HAS_LOG_LINE.search("\n" + text)) == bool(entities._LOG_LINE.search(text)), text


def test_a_change_of_task_is_found_with_or_without_the_turns_words():
    turns = [text for text in TEXTS if text.isascii()]
    turns += [text * 3 + " actually i now want to add a cache instead" for text in _fuzzed(300, 4) if text.isascii()]
    assert [text for text in turns if len(text) > 600] and [text for text in turns if may_change_task(text)]
    for text in turns:
        assert may_change_task(text, cues.turn_words(text.lower())) == may_change_task(text), text


def test_intent_prefilters_match_the_regexes():
    """A sentence the intent reads is tested for trouble, a change of task and its shapes by
    literals and trigger words before the regexes: the same answers as the regexes alone."""
    sentences = [" ".join(s.lower().split()) for text in TEXTS + _fuzzed(6000, 6) for s in intent._SENTENCE.split(text)]
    sentences = [s for s in sentences if s]
    for sentence in sentences:
        assert cues.is_problem(sentence) == bool(cues._PROBLEM.search(sentence)), sentence
        plain_trouble = bool(cues._PROBLEM.search(sentence)) or (
            not sentence.startswith(("don't ", "do not ")) and bool(intent._TROUBLE.search(sentence))
        )
        assert intent._troubled(sentence) == plain_trouble, sentence
        change = intent._NEW_TASK.search(sentence) or intent._REFINEMENT.search(sentence)
        found = intent._changes_task(sentence)
        assert (found and (found.re, found.span())) == (change and (change.re, change.span())), sentence
        found_request, request = intent._find_request(sentence), intent._REQUEST.search(sentence)
        assert (found_request and (found_request.span(), found_request.lastgroup, found_request.groups())) == (
            request and (request.span(), request.lastgroup, request.groups())
        ), sentence
        for name, shape in intent._SHAPES:
            marks = intent._SHAPE_MARKS[name]
            if marks and not any(mark in sentence for mark in marks):
                assert not shape.search(sentence), (name, sentence)


def test_item_prefilters_match_the_regexes():
    """A clause's tail, sign-off and file names, a sentence's cues, work put off and "still" are
    looked for only where the words or literals their patterns need occur: the same answers."""
    plain_core = re.compile(items._TAIL.pattern)
    sentences = [cues.strip_bullet(s.strip()) for text in TEXTS + _fuzzed(6000, 7) for s in cues.sentences(text)]
    for sentence in [s for s in sentences if s]:
        lowered = sentence.lower()
        clause = " ".join(sentence.split())
        assert items._TAIL_WORDS.isdisjoint(clause.split()) <= (not plain_core.search(clause)), clause
        signed = builder._SUBJECT.sub("", builder._FILLER.sub("", clause))
        gated = signed.isascii() and not signed.rstrip(builder._SIGN_OFF_TRAIL).lower().endswith(builder._SIGN_OFF_ENDS)
        assert gated <= (not builder._SIGN_OFF.search(signed)), signed
        file_named = "." in sentence and bool(items._FILE_EXTENSION.search(sentence)) and bool(items._PATH.search(sentence))
        assert ("/" in sentence or file_named) == ("/" in sentence or "." in sentence and bool(items._PATH.search(sentence))), sentence
        words = cues.turn_words(lowered)
        assert items._SENTENCE_CUE_TRIGGERS.may_match(lowered, words) >= bool(items._SENTENCE_CUES.search(lowered)), sentence
        assert items._deferred(lowered, words) == bool(items._DEFERRED.search(lowered)), sentence
        assert cues.says_still(lowered, words) == bool(cues._STILL.search(lowered)), sentence
        assert items._GREEN_TRIGGERS.may_match(lowered, words) >= bool(items._GREEN.search(lowered)), sentence
        assert cues.says_done(lowered, words) == bool(cues._DONE.search(lowered)), sentence


def test_a_build_after_every_turn_equals_extraction_of_the_prefix():
    """What a build keeps from the last one (evidence, unique items, confidence) is never stale."""
    for session in DEV[::2]:
        builder = SitrepBuilder()
        for count, message in enumerate(session.messages, 1):
            builder.add(message)
            built, extracted = builder.build(), extract_sitrep(session.messages[:count])
            assert built == extracted, (session.id, count)


def test_open_loops_near_repeats_judged_after_the_shared_part_equal_judging_them_all():
    """A build judges only the open loops after the part its list shares with the last build's:
    the same list as judging every loop, whatever happens between builds (loops added, replaced,
    closed, the latest turns' candidates changing at the end)."""

    def judged_whole(items: list[str]) -> list[str]:
        kept: list[tuple[str, frozenset[str]]] = []
        for item in dict.fromkeys(items):
            words = builder.keywords(item)
            if not any(words and other and len(words & other) * 2 >= len(words | other) for _, other in kept):
                kept.append((item, words))
        return [item for item, _ in kept]

    rng = random.Random(9)
    vocabulary = "cache flaky test login timeout retry the fix pool ci migration users".split()
    pool = [" ".join(rng.sample(vocabulary, rng.randint(1, 4))) for _ in range(60)] + ["", "ok", "Still to do: the login test"]
    unique, items = builder._Unique(near=True), []
    for _ in range(4000):
        at = rng.randrange(len(items) + 1)
        edit = rng.random()
        if edit < 0.4:
            items = items + [rng.choice(pool)]
        elif edit < 0.6:
            items = items[:at] + items[at + 1 :]
        elif edit < 0.8:
            items = items[:at] + [rng.choice(pool)] + items[at + 1 :]
        else:
            items = items[:at] + rng.sample(pool, rng.randint(0, 3))
        assert unique(items) == judged_whole(items), items
