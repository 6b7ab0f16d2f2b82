"""Scoring the detectors on the labelled privacy snippets (tests/data/privacy, format in
tests/data/LABELLING.md): strict matching, one labelled value to at most one detected finding of
the same category whose span overlaps one of the value's occurrences, and the other way round."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from trooper.privacy.findings import Finding

CORPUS = Path(__file__).resolve().parents[1] / "data" / "privacy"
Detector = Callable[[str], list[Finding]]


@dataclass(frozen=True)
class Label:
    kind: str
    category: str
    value: str


@dataclass(frozen=True)
class Snippet:
    id: str
    context: str
    text: str
    labels: list[Label]


def load_snippets(split: str) -> list[Snippet]:
    snippets = []
    for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            labels = [Label(f["kind"], f["category"], f["value"]) for f in row["findings"]]
            snippets.append(Snippet(row["id"], row["context"], row["text"], labels))
    return snippets


def occurrences(text: str, value: str) -> list[tuple[int, int]]:
    spans, start = [], text.find(value)
    while start >= 0:
        spans.append((start, start + len(value)))
        start = text.find(value, start + 1)
    return spans


def _overlaps(found: Finding, label: Label, text: str) -> bool:
    return found.category == label.category and any(found.start < end and start < found.end for start, end in occurrences(text, label.value))


def match(snippet: Snippet, found: list[Finding]) -> dict[int, int]:
    """Label index → finding index, one to one, as many pairs as possible (augmenting paths)."""
    edges = {i: [j for j, f in enumerate(found) if _overlaps(f, label, snippet.text)] for i, label in enumerate(snippet.labels)}
    owner: dict[int, int] = {}

    def assign(label: int, seen: set[int]) -> bool:
        for candidate in edges[label]:
            if candidate in seen:
                continue
            seen.add(candidate)
            if candidate not in owner or assign(owner[candidate], seen):
                owner[candidate] = label
                return True
        return False

    for label in edges:
        assign(label, set())
    return {label: finding for finding, label in owner.items()}


@dataclass
class Score:
    labels: dict[str, int] = field(default_factory=lambda: {"secret": 0, "personal": 0})
    found: dict[str, int] = field(default_factory=lambda: {"secret": 0, "personal": 0})
    #: Detections matching no label, in snippets that hold some.
    extra: int = 0
    negatives: int = 0
    flagged_negatives: int = 0
    #: Per kind: (labelled, found), for the dev report.
    kinds: dict[str, list[int]] = field(default_factory=dict)
    missed: list[tuple[str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str]] = field(default_factory=list)

    def recall(self, category: str) -> float:
        return self.found[category] / self.labels[category] if self.labels[category] else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.flagged_negatives / self.negatives if self.negatives else 0.0

    def summary(self) -> str:
        return (
            f"secrets recall {self.recall('secret'):.3f} ({self.found['secret']}/{self.labels['secret']}), "
            f"personal recall {self.recall('personal'):.3f} ({self.found['personal']}/{self.labels['personal']}), "
            f"false positives on negatives {self.false_positive_rate:.3f} ({self.flagged_negatives}/{self.negatives}), "
            f"extra findings in positives {self.extra}"
        )


def score(snippets: list[Snippet], detector: Detector) -> Score:
    result = Score()
    for snippet in snippets:
        found = detector(snippet.text)
        if not snippet.labels:
            result.negatives += 1
            if found:
                result.flagged_negatives += 1
                result.false_positives.extend((snippet.id, f.kind) for f in found)
            continue
        pairs = match(snippet, found)
        for index, label in enumerate(snippet.labels):
            result.labels[label.category] += 1
            counts = result.kinds.setdefault(label.kind, [0, 0])
            counts[0] += 1
            if index in pairs:
                result.found[label.category] += 1
                counts[1] += 1
            else:
                result.missed.append((snippet.id, label.kind))
        result.extra += len(found) - len(pairs)
    return result
