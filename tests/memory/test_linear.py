"""The learned SITREP choices' model: fitting, scoring, explaining, and its JSON form."""

from tests.memory.linear_fit import fit, folds, writer_folds
from trooper.memory.sitrep.linear import LinearModel


def _examples():
    # "good" decides the label; "noise" appears on both sides equally.
    return [({"good", "noise"}, True), ({"good"}, True), ({"bad", "noise"}, False), ({"bad"}, False)] * 20


def test_fit_learns_the_feature_that_decides_and_ignores_noise():
    model = fit(_examples())
    assert model.probability({"good"}) > 0.9 > 0.1 > model.probability({"bad"})
    assert abs(model.weights["noise"]) < abs(model.weights["good"]) / 4
    assert model.explain({"good", "noise", "unseen"}, top=1) == [("good", model.weights["good"])]


def test_fit_is_deterministic_and_drops_rare_features():
    examples = _examples() + [({"once", "good"}, True)]
    first, second = fit(examples), fit(examples)
    assert first.to_json() == second.to_json()
    assert "once" not in first.weights


def test_json_round_trip_keeps_every_score():
    model = fit(_examples())
    again = LinearModel.from_json(model.to_json())
    for features in ({"good"}, {"bad", "noise"}, set()):
        assert abs(again.score(features) - model.score(features)) < 1e-3


def test_folds_hold_each_item_out_exactly_once():
    items = list(range(11))
    held_out = [item for _, out in folds(items, 3) for item in out]
    assert sorted(held_out) == items
    assert all(set(train).isdisjoint(out) for train, out in folds(items, 3))


def test_writer_folds_hold_each_writer_out_whole():
    items = [("a", 1), ("b", 2), ("a", 3), ("c", 4)]
    pairs = writer_folds(items, lambda item: item[0])
    assert [sorted(out) for _, out in pairs] == [[("a", 1), ("a", 3)], [("b", 2)], [("c", 4)]]
    assert all({w for w, _ in train}.isdisjoint({w for w, _ in out}) for train, out in pairs)
