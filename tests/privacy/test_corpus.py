"""The detectors judged on the labelled privacy snippets (tests/data/privacy), dev and test splits.

Both splits hold the targets of issue #21: recall at least 0.95 on secrets and 0.90 on personal
data, and at most 2% of the hard negatives flagged. The test split was written and labelled blind
to the detectors and is never read while they are changed. Before the detectors first ran on it,
its floors were written down lower (0.90, 0.85, 5%); it measured 1.000, 0.960 and 0%, so it is held
to the issue's targets since (docs/security.md has the figures).
"""

from __future__ import annotations

import pytest

from tests.privacy.corpus import load_snippets, match, score
from trooper.privacy import detect
from trooper.privacy.findings import PERSONAL_KINDS, SECRET_KINDS, finding

#: split → (secrets recall at least, personal recall at least, negatives flagged at most)
FLOORS = {"dev": (0.95, 0.90, 0.02), "test": (0.95, 0.90, 0.02)}


def test_the_corpus_covers_every_kind():
    snippets = load_snippets("dev") + load_snippets("test")
    assert len(snippets) >= 300
    kinds = {label.kind for snippet in snippets for label in snippet.labels}
    assert kinds == set(SECRET_KINDS[:-2]) | set(PERSONAL_KINDS)  # all but the owner's own rules


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_recall_and_false_positives(split):
    secrets, personal, flagged = FLOORS[split]
    result = score(load_snippets(split), detect)
    print(f"{split}: {result.summary()}")  # aggregates only: never a snippet
    assert result.recall("secret") >= secrets, result.summary()
    assert result.recall("personal") >= personal, result.summary()
    assert result.false_positive_rate <= flagged, result.summary()


def test_matching_is_one_to_one_and_by_category():
    from tests.privacy.corpus import Label, Snippet

    text = "key AKIAQ3EGRTW5J2KD7XPL and AKIAQ3EGRTW5J2KD7XPL"
    snippet = Snippet("x", "prose", text, [Label("aws_access_key", "secret", "AKIAQ3EGRTW5J2KD7XPL")])
    both = [finding("aws_access_key", 4, 24, 1.0), finding("aws_access_key", 29, 49, 1.0)]
    assert match(snippet, both) == {0: 0}  # a value listed once is matched once
    assert match(snippet, [finding("email", 4, 24, 1.0)]) == {}  # the other category does not count
    assert match(snippet, [finding("jwt", 10, 30, 1.0)]) == {0: 0}  # overlapping is enough, any secret kind
