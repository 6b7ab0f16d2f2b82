"""The second annotator's labels (tests/data/agreement) label dev sessions only, in the corpus's shape."""

from __future__ import annotations

from tests.memory.agreement import labelled_twice, second_labels
from tests.memory.corpus import load_split

FIELDS = {"intent", "intent_keywords", "entities", "open_loops", "completed_steps"}


def test_second_labels_are_for_dev_sessions_only():
    second = second_labels()
    dev = {session.id for session in load_split("dev")}
    assert second and set(second) <= dev
    assert len(labelled_twice()) == len(second)


def test_second_labels_follow_the_labelling_guide():
    for session_id, expected in second_labels().items():
        assert set(expected) == FIELDS, session_id
        assert 1 <= len(expected["intent_keywords"]) <= 3, session_id
        assert len(expected["entities"]) <= 8, session_id
        for item in [expected["intent"], *expected["open_loops"], *expected["completed_steps"]]:
            assert len(item.split()) <= 12, (session_id, item)
