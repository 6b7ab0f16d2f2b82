"""A logistic model over named features, trained offline and shipped in the package as JSON.

The SITREP's learned choices (which names matter, which clause is a step or an open loop, which
sentence is the goal) are each one ``LinearModel``: the score is the bias plus the weights of the
features an item has, so a choice is explained by listing the features that weighed most, and
nothing is downloaded or sampled at run time. Features are short strings (``"kind=file"``,
``"in_backticks"``, ``"verb=fix"``); a feature the model never saw weighs nothing.

The models are fitted by ``python -m tests.memory.linear_fit`` scripts on the dev split only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from functools import cache
from importlib import resources
from itertools import repeat


class LinearModel:
    """Weights of named binary features plus a bias; ``score`` is their sum for one item."""

    __slots__ = ("bias", "weights")

    def __init__(self, weights: dict[str, float], bias: float = 0.0) -> None:
        self.weights = weights
        self.bias = bias

    def score(self, features: Iterable[str]) -> float:
        """The item's log-odds: the bias plus the weight of every feature it has."""
        return self.bias + sum(map(self.weights.get, features, repeat(0.0)))  # summed in the features' order

    def probability(self, features: Iterable[str]) -> float:
        """The item's score as a probability (the logistic of the log-odds)."""
        score = self.score(features)
        if score < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-score))

    def explain(self, features: Iterable[str], top: int = 3) -> list[tuple[str, float]]:
        """The features that moved this item's score most, with their weights."""
        weighed = [(feature, self.weights[feature]) for feature in set(features) if feature in self.weights]
        return sorted(weighed, key=lambda pair: (-abs(pair[1]), pair[0]))[:top]

    def to_json(self) -> str:
        """Stable JSON (sorted, rounded) so that a refit that learns nothing new changes no byte."""
        weights = {name: round(value, 4) for name, value in sorted(self.weights.items()) if round(value, 4)}
        return json.dumps({"bias": round(self.bias, 4), "weights": weights}, indent=0, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LinearModel:
        data = json.loads(text)
        return cls({str(name): float(value) for name, value in data["weights"].items()}, float(data["bias"]))


@cache
def load_model(name: str) -> LinearModel:
    """The model shipped as ``trooper/memory/sitrep/models/<name>.json``, read once."""
    text = resources.files("trooper.memory.sitrep").joinpath("models", f"{name}.json").read_text("utf-8")
    return LinearModel.from_json(text)
