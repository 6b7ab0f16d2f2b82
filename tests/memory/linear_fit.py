"""Fitting a ``LinearModel`` (logistic regression, L2) and splitting the dev sessions into folds.

Deterministic: the examples are visited in a fixed shuffled order (seeded), so the same data
gives the same weights byte for byte. Plain Python: a few thousand items a model, seconds to fit.
Training scripts read the dev split only; the test split decides whether a model is kept.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from trooper.memory.sitrep.linear import LinearModel

Item = TypeVar("Item")


def fit(
    examples: Sequence[tuple[Collection[str], bool]],
    *,
    l2: float = 1e-3,
    epochs: int = 40,
    rate: float = 0.2,
    min_count: int = 2,
    positive_weight: float = 1.0,
    seed: int = 0,
) -> LinearModel:
    """Logistic regression by AdaGrad SGD over features seen at least ``min_count`` times.

    ``positive_weight`` > 1 counts each positive example that many times (rare classes);
    features rarer than ``min_count`` are dropped so the model cannot memorise one session's words.
    """
    seen = Counter(feature for features, _ in examples for feature in sorted(set(features)))
    kept = [([f for f in sorted(set(features)) if seen[f] >= min_count], label) for features, label in examples]
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias, bias_square = 0.0, 0.0
    order = list(range(len(kept)))
    shuffle = random.Random(seed).shuffle
    for _ in range(epochs):
        shuffle(order)
        for index in order:
            features, label = kept[index]
            score = bias + sum(weights.get(f, 0.0) for f in features)
            predicted = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, score))))
            error = (predicted - float(label)) * (positive_weight if label else 1.0)
            bias_square += error * error
            bias -= rate * error / math.sqrt(bias_square + 1e-8)
            for feature in features:
                gradient = error + l2 * weights.get(feature, 0.0)
                squares[feature] = squares.get(feature, 0.0) + gradient * gradient
                weights[feature] = weights.get(feature, 0.0) - rate * gradient / math.sqrt(squares[feature] + 1e-8)
    return LinearModel(weights, bias)


def writer_folds(items: Sequence[Item], writer: Callable[[Item], str]) -> list[tuple[list[Item], list[Item]]]:
    """One (train, held-out) pair per writer: each writer's items held out in turn, so a figure
    measures labels written by a hand the model never saw (what a test split written by others is)."""
    writers = sorted({writer(item) for item in items})
    return [([item for item in items if writer(item) != name], [item for item in items if writer(item) == name]) for name in writers]


def folds(items: Sequence[Item], k: int = 5) -> list[tuple[list[Item], list[Item]]]:
    """``k`` (train, held-out) pairs: item i is held out in fold ``i % k`` (stable, no randomness)."""
    return [
        ([item for i, item in enumerate(items) if i % k != fold], [item for i, item in enumerate(items) if i % k == fold])
        for fold in range(k)
    ]
