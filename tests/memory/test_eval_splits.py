"""The held-out test splits are the ones written blind: a changed test file must show in review.

``tests/data/test-split.sha256`` records the hash of every test-split file (sessions, routing
turns and privacy snippets) as committed by the people who wrote and labelled them (tests/data/LABELLING.md). Editing a
label to match the extractor's output changes a hash, and this test fails until the record is
changed too, in the same reviewed commit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
RECORD = DATA / "test-split.sha256"


def recorded() -> dict[str, str]:
    lines = (line.split(maxsplit=1) for line in RECORD.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in lines}


def test_every_test_split_file_is_recorded_unchanged():
    files = sorted(p.relative_to(DATA).as_posix() for p in [*(DATA / "sessions" / "test").rglob("*.json"), DATA / "routing" / "test.jsonl", DATA / "privacy" / "test.jsonl"])
    record = recorded()
    assert files == sorted(record), "a test-split file was added or removed without updating test-split.sha256"
    for name in files:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == record[name], f"{name} changed"


def test_dev_and_test_splits_share_no_session():
    dev = {p.stem for p in (DATA / "sessions" / "dev").rglob("*.json")}
    test = {p.stem for p in (DATA / "sessions" / "test").rglob("*.json")}
    assert dev and test and not dev & test


def privacy_rows(split: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / "privacy" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


def test_privacy_dev_and_test_share_no_id_snippet_or_value():
    dev, test = privacy_rows("dev"), privacy_rows("test")
    assert dev and test
    assert not {row["id"] for row in dev} & {row["id"] for row in test}
    assert not {row["text"] for row in dev} & {row["text"] for row in test}
    dev_values = {f["value"] for row in dev for f in row["findings"]}
    test_values = {f["value"] for row in test for f in row["findings"]}
    assert not dev_values & test_values
    # nor does a value labelled in one split appear unlabelled inside the other's snippets
    dev_text, test_text = "\n".join(row["text"] for row in dev), "\n".join(row["text"] for row in test)
    assert not [v for v in dev_values if v in test_text] and not [v for v in test_values if v in dev_text]
