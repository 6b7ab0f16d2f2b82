"""The classifier judged on the labelled routing turns (tests/data/routing), dev and test splits.

The floors sit a couple of points under the figures measured at the last rule change
(docs/routing.md), so a rule that sends hard turns to the small model, or simple ones back to the
cloud, fails here. The test split was written and labelled blind to the classifier.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.routing.corpus import LOCAL_SUPPORTS_TOOLS, load_turns, score_turns
from trooper.routing.classifier import classify

#: split → (accuracy at least, share of cloud-worthy turns sent local at most)
FLOORS = {"dev": (0.98, 0.01), "test": (0.87, 0.03)}


def route(request):
    return classify(request, local_supports_tools=LOCAL_SUPPORTS_TOOLS).route


def test_the_corpus_is_large_and_multilingual():
    turns = load_turns("dev") + load_turns("test")
    assert len(turns) >= 400 and len(load_turns("test")) >= 150
    languages = Counter(turn.lang for turn in turns)
    assert all(languages[lang] >= 40 for lang in ("en", "de", "es", "fr", "pt")), languages
    assert {turn.route for turn in turns} == {"local", "cloud"}


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_accuracy_and_conservatism(split):
    accuracy, cloud_sent_local = FLOORS[split]
    score = score_turns(load_turns(split), route)
    assert score.accuracy >= accuracy, round(score.accuracy, 3)
    assert score.cloud_sent_local_rate <= cloud_sent_local, round(score.cloud_sent_local_rate, 3)
