"""Fitting a ``LinearModel`` that chooses one item of a group (a conditional logit, L2).

Where ``linear_fit.fit`` asks of each item alone "is it right?", a choice asks which item of its
group is best: the score is a softmax over the group, and the fit raises the share of the
group's right items (any of them will do). Only the differences between items of one group
matter, so features the whole group shares weigh nothing and the bias stays 0. Deterministic:
groups are visited in a seeded order. Plain Python, seconds for a few thousand items.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Collection, Sequence

from trooper.memory.sitrep.linear import LinearModel

Group = Sequence[tuple[Collection[str], bool]]


def fit_choice(groups: Sequence[Group], *, l2: float = 1e-2, epochs: int = 30, rate: float = 0.2, min_count: int = 3, seed: int = 0) -> LinearModel:
    """Weights under which each group's right items take the most softmax share, by AdaGrad SGD
    over features seen in at least ``min_count`` groups (rarer ones would memorise a group)."""
    seen = Counter(feature for group in groups for feature in {f for features, _ in group for f in features})
    kept = [
        [([f for f in sorted(set(features)) if seen[f] >= min_count], right) for features, right in group]
        for group in groups
        if any(right for _, right in group) and not all(right for _, right in group)
    ]
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    order = list(range(len(kept)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for index in order:
            group = kept[index]
            scores = [sum(weights.get(f, 0.0) for f in features) for features, _ in group]
            top = max(scores)
            shares = [math.exp(score - top) for score in scores]
            total, right_total = sum(shares), sum(share for share, (_, right) in zip(shares, group) if right)
            gradients: dict[str, float] = {}
            for share, (features, right) in zip(shares, group):
                error = share / total - (share / right_total if right else 0.0)
                for feature in features:
                    gradients[feature] = gradients.get(feature, 0.0) + error
            for feature, gradient in gradients.items():
                gradient += l2 * weights.get(feature, 0.0)
                squares[feature] = squares.get(feature, 0.0) + gradient * gradient
                weights[feature] = weights.get(feature, 0.0) - rate * gradient / math.sqrt(squares[feature] + 1e-8)
    return LinearModel(weights)
